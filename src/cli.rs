//! Command-line interface (README "Commands"), parsed with clap. Every
//! argument has a one-line description and every command two or three
//! examples; the exit codes are in `newsletter --help`, and the same
//! definitions give the man pages and shell completions.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const EXIT_CODES: &str = "\
Exit codes:
  0  done, or nothing to do (also when max_per_hour/max_per_day stopped a run: the rest waits)
  1  the run finished but some recipients failed (see `newsletter status`)
  2  invalid usage, config, issue or subscribers: nothing was sent
  3  aborted (server unreachable, login refused, too many temporary failures,
     interrupted, the journal not writable): the journal is consistent and the
     same command resumes
  4  another `send` holds the lock on this state folder

Start with `newsletter init DIR`; `newsletter COMMAND --help` shows examples.";

#[derive(Parser, Debug)]
#[command(
    name = "newsletter",
    version,
    about = "Send a markdown newsletter issue to subscribers by email",
    long_about = "Send a newsletter issue, written as a Hugo markdown post, to a list of subscribers by email: \
                  preview it, dry-run it, send it with a journal that never loses or double-mails a \
                  subscriber, and run it from cron.",
    after_help = EXIT_CODES
)]
pub struct Cli {
    /// The config file [default: ./newsletter.toml]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Only errors and warnings (and a send's summary when mail went out)
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More detail (SMTP conversations, timings); secrets are never shown
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Colour: auto = only on a terminal and when NO_COLOR is unset
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a newsletter folder: a commented config, an example issue, the list, .env
    #[command(after_help = "Examples:
  newsletter init weekly                         # a new folder, then follow the printed steps
  newsletter init                                # fill the current (empty) folder
  newsletter init weekly --from-hugo ~/site/content/posts   # adopt a site: its posts count as sent")]
    Init(InitArgs),
    /// Validate the config, the subscribers and the issues (default: every issue in issues/)
    #[command(after_help = "Examples:
  newsletter check                               # everything; exit 2 on any error
  newsletter check 2026-w48                      # the config, the list and one issue (by id or file)
  newsletter check --smtp                        # also log in to the SMTP server, send nothing")]
    Check(CheckArgs),
    /// Render one issue into email.html, email.txt, message.eml and a viewer page
    #[command(after_help = "Examples:
  newsletter preview 2026-w48 --open             # write preview/2026-w48/ and open the viewer
  newsletter preview issues/2026-w48.md --serve  # live viewer on http://127.0.0.1:8025/
  newsletter preview 2026-w48 --as ann@example.com --out /tmp/p")]
    Preview(PreviewArgs),
    /// Deliver an issue to every active subscriber who has not received it yet
    #[command(after_help = "Examples:
  newsletter send 2026-w48 --dry-run             # build every message into outbox/2026-w48/
  newsletter send 2026-w48 --to me@example.com --yes   # one real [TEST] copy
  newsletter send --due --yes --quiet            # from cron: silent when nothing was sent")]
    Send(SendArgs),
    /// Delivery state per issue: counts, failures, how the last run ended, what is next
    #[command(after_help = "Examples:
  newsletter status                              # every issue, and the next one send --due sends
  newsletter status 2026-w48                     # one issue (id or file)
  newsletter status --json | jq '.issues[0].failed'")]
    Status(StatusArgs),
    /// Record issues as sent without mailing them (a back catalogue)
    #[command(after_help = "Examples:
  newsletter mark-sent issue-051 issue-052       # by id or file
  newsletter mark-sent --all-before 2026-11-01   # every issue (not drafts) dated before")]
    MarkSent(MarkSentArgs),
    /// Inspect or import the subscriber list
    #[command(subcommand)]
    Subscribers(SubscribersCommand),
    /// Stop mailing an address (by address or by its unsubscribe token)
    #[command(after_help = "Examples:
  newsletter unsubscribe reader@example.com
  newsletter unsubscribe --token 'v1.…'          # the token from a message's link")]
    Unsubscribe(UnsubscribeArgs),
    /// Mail an address again after it unsubscribed
    #[command(after_help = "Example:
  newsletter resubscribe reader@example.com")]
    Resubscribe(ResubscribeArgs),
    /// Serve the public endpoint: sign-ups with double opt-in, one-click unsubscribe
    #[command(
        alias = "serve-unsubscribe",
        after_help = "Examples:
  newsletter serve                               # on 127.0.0.1:8026, behind a reverse proxy
  newsletter serve --listen 127.0.0.1:9000
  newsletter serve-unsubscribe                   # the same (the first round's name)"
    )]
    Serve(ServeArgs),
    /// Read bounce and complaint messages; record them and clean the list
    #[command(subcommand)]
    Bounces(BouncesCommand),
    /// The suppression list: addresses never mailed, and why
    #[command(after_help = "Examples:
  newsletter suppressions
  newsletter suppressions --reason complained
  newsletter suppressions --json | jq -r .email")]
    Suppressions(SuppressionsArgs),
    /// Print a shell completion script
    #[command(after_help = "Examples:
  newsletter completions bash > ~/.local/share/bash-completion/completions/newsletter
  newsletter completions zsh > ~/.zfunc/_newsletter
  newsletter completions fish > ~/.config/fish/completions/newsletter.fish")]
    Completions(CompletionsArgs),
    /// Write the man pages (newsletter.1 and one per command)
    #[command(after_help = "Examples:
  newsletter man --out ~/.local/share/man/man1 && man newsletter
  sudo newsletter man --out /usr/local/share/man/man1")]
    Man(ManArgs),
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// The folder to create or fill [default: the current folder]
    pub dir: Option<PathBuf>,
    /// Use an existing Hugo site's posts as the issues; the posts already there count as sent
    #[arg(long, value_name = "CONTENT_DIR")]
    pub from_hugo: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Issue files or ids [default: every *.md in the issues folder]
    #[arg(value_name = "ISSUE")]
    pub issues: Vec<PathBuf>,
    /// Also connect to the SMTP server: TLS and login, then QUIT (nothing is sent)
    #[arg(long)]
    pub smtp: bool,
}

#[derive(Args, Debug)]
pub struct PreviewArgs {
    /// The issue: a file, or an id (front matter slug, else the file name without .md)
    pub issue: PathBuf,
    /// Output folder [default: preview/<issue-id>/]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Render for this subscriber, an address or "Name <address>" [default: the first active one]
    #[arg(long = "as", value_name = "EMAIL")]
    pub as_email: Option<String>,
    /// Serve the viewer on 127.0.0.1 and reload it on changes
    #[arg(long)]
    pub serve: bool,
    /// Port for --serve (0 picks a free one)
    #[arg(long, default_value_t = 8025)]
    pub port: u16,
    /// Open the viewer in a browser ($BROWSER, else xdg-open)
    #[arg(long)]
    pub open: bool,
}

#[derive(Args, Debug)]
pub struct SendArgs {
    /// The issue: a file or an id (or use --due)
    #[arg(required_unless_present = "due", conflicts_with = "due")]
    pub issue: Option<PathBuf>,
    /// Every issue that is due: dated in the past, not draft, not finished, not too old
    #[arg(long)]
    pub due: bool,
    /// Write .eml files instead of connecting to SMTP
    #[arg(long)]
    pub dry_run: bool,
    /// Dry-run output folder [default: [paths] outbox]
    #[arg(long, value_name = "DIR")]
    pub outbox: Option<PathBuf>,
    /// Send one test copy to ADDR (subject prefixed "[TEST] "), not journalled
    #[arg(long, value_name = "ADDR", conflicts_with = "due")]
    pub to: Option<String>,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// At most N messages in this run
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Parallel SMTP connections [default: [smtp] concurrency]
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Messages per second, 0 = unlimited [default: [smtp] rate_per_second]
    #[arg(long, value_name = "N")]
    pub rate: Option<f64>,
    /// Only recipients in shard K of N (K from 1)
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Issue file or id [default: every journalled issue]
    pub issue: Option<String>,
    /// Stable JSON output (see README)
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct MarkSentArgs {
    /// Issue files or ids
    #[arg(required_unless_present = "all_before", value_name = "ISSUE")]
    pub issues: Vec<String>,
    /// Also every issue (not drafts) dated before DATE: 2026-11-01 or 2026-11-01T09:00:00+09:00
    #[arg(long, value_name = "DATE")]
    pub all_before: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum SubscribersCommand {
    /// Active recipients after suppression, one per line
    #[command(after_help = "Examples:
  newsletter subscribers list
  newsletter subscribers list | wc -l")]
    List,
    /// Number of active recipients after suppression
    #[command(after_help = "Example:
  newsletter subscribers count")]
    Count,
    /// Every problem in the subscriber files
    #[command(after_help = "Example:
  newsletter subscribers check                   # exit 2 on any error")]
    Check,
    /// Normalise a CSV export from another tool into the subscribers folder
    #[command(after_help = "Examples:
  newsletter subscribers import mailchimp-members.csv
  newsletter subscribers import listmonk.csv --name main")]
    Import(ImportArgs),
    /// Add a confirmed subscriber (kept in the state database, no file edited)
    #[command(after_help = "Examples:
  newsletter subscribers add ann@example.com --name 'Ann Lee'
  newsletter subscribers add minji@example.com")]
    Add(AddArgs),
    /// Stop mailing an address: deletes its sign-up; suppresses it if a file lists it
    #[command(after_help = "Example:
  newsletter subscribers remove ann@example.com")]
    Remove(RemoveArgs),
    /// Everyone on the list (files and sign-ups, every status) as CSV, with consent records
    #[command(after_help = "Examples:
  newsletter subscribers export > list.csv
  newsletter subscribers export --out backup.csv # created owner-only")]
    Export(ExportArgs),
}

#[derive(Args, Debug)]
pub struct AddArgs {
    /// The address to add
    pub email: String,
    /// The subscriber's name, for the To: header and {name}
    #[arg(long)]
    pub name: Option<String>,
}

#[derive(Args, Debug)]
pub struct RemoveArgs {
    /// The address to stop mailing
    pub email: String,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Write to FILE (created owner-only) instead of standard output
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The CSV export (Mailchimp, listmonk, or any file with an email column)
    pub file: PathBuf,
    /// Output file name inside the subscribers folder [default: imported-<stem>.csv]
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
}

#[derive(Args, Debug)]
pub struct UnsubscribeArgs {
    /// The address to suppress
    #[arg(required_unless_present = "token", conflicts_with = "token")]
    pub email: Option<String>,
    /// An unsubscribe token from a message's link
    #[arg(long)]
    pub token: Option<String>,
}

#[derive(Args, Debug)]
pub struct ResubscribeArgs {
    /// The address to mail again
    pub email: String,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address and port to listen on (put a TLS-terminating reverse proxy in front)
    #[arg(long, default_value = "127.0.0.1:8026")]
    pub listen: String,
}

#[derive(Subcommand, Debug)]
pub enum BouncesCommand {
    /// Print how each bounce, complaint or auto-reply reads, one line per
    /// affected recipient; changes nothing
    #[command(after_help = "Examples:
  newsletter bounces parse ~/Maildir/bounces     # a Maildir, an mbox file, .eml files or folders
  newsletter bounces parse --json bounce.eml | jq .class
  cat bounce.eml | newsletter bounces parse -")]
    Parse(BouncesParseArgs),
    /// Record bounces and complaints from files, Maildirs, mboxes or stdin
    /// against their issue and subscriber, and suppress per [bounces] thresholds
    #[command(after_help = "Examples:
  newsletter bounces import ~/Maildir/.Bounces
  newsletter bounces import --sysexits -          # from Postfix's pipe(8): see README
Exit codes: 0 all read, 1 some unreadable (the rest recorded), 2 usage or config, 3 state database")]
    Import(BouncesImportArgs),
    /// Same as import, from the IMAP mailbox of [bounces]; marks what it took
    #[command(after_help = "Examples:
  NEWSLETTER_IMAP_PASSWORD=… newsletter bounces fetch
  newsletter bounces fetch --quiet                # from cron: prints only what it suppressed
Exit codes: 0 done, 1 some unreadable (left in the mailbox), 2 config or mailbox, 3 IMAP or state database")]
    Fetch,
}

#[derive(Args, Debug)]
pub struct BouncesImportArgs {
    /// Exit with sysexits codes for a mail system's pipe (0, 65 unreadable,
    /// 75 try again later, 78 configuration)
    #[arg(long)]
    pub sysexits: bool,
    /// .eml files, folders of them, Maildirs, mbox files, or - for stdin
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum SuppressionReason {
    Unsubscribed,
    Bounced,
    Complained,
    Manual,
}

#[derive(Args, Debug)]
pub struct SuppressionsArgs {
    /// Only this reason
    #[arg(long, value_enum)]
    pub reason: Option<SuppressionReason>,
    /// One JSON object per line
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct BouncesParseArgs {
    /// One JSON object per line
    #[arg(long)]
    pub json: bool,
    /// .eml files, folders of them, Maildirs, mbox files, or - for stdin
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// Folder to write newsletter.1 and newsletter-COMMAND.1 into [default: print newsletter.1]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every argument of every command says what it is, and every command
    /// (but the `subscribers` group) shows examples.
    #[test]
    fn every_argument_is_described_and_every_command_has_examples() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if arg.get_help().is_none() && !matches!(id, "help" | "version") {
                    missing.push(format!("{path} {id}: no description"));
                }
            }
            if cmd.get_subcommands().next().is_none() && cmd.get_after_help().is_none() {
                missing.push(format!("{path}: no examples"));
            }
            for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "newsletter", &mut missing);
        assert_eq!(missing, Vec::<String>::new());
        Cli::command().debug_assert();
    }
}
