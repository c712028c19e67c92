//! The state database (`state/newsletter.db`): schema, migrations, suppression list, journal.
