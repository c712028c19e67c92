//! Command-line interface (README "Commands"), parsed with clap.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "newsletter",
    version,
    about = "Send a markdown newsletter issue to subscribers by email"
)]
pub struct Cli {
    /// The config file [default: ./newsletter.toml]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Only errors and warnings
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
    /// Validate the config, the subscribers and the issues (default: every issue in issues/)
    Check(CheckArgs),
    /// Render one issue into email.html, email.txt, message.eml and a viewer page
    Preview(PreviewArgs),
    /// Deliver an issue to every active subscriber who has not received it yet
    Send(SendArgs),
    /// Delivery state per issue
    Status(StatusArgs),
    /// Inspect or import the subscriber list
    #[command(subcommand)]
    Subscribers(SubscribersCommand),
    /// Stop mailing an address (by address or by its unsubscribe token)
    Unsubscribe(UnsubscribeArgs),
    /// Mail an address again after it unsubscribed
    Resubscribe(ResubscribeArgs),
    /// Serve the public endpoint: sign-ups with double opt-in, one-click unsubscribe
    #[command(alias = "serve-unsubscribe")]
    Serve(ServeArgs),
    /// Read bounce and complaint messages; record them and clean the list
    #[command(subcommand)]
    Bounces(BouncesCommand),
    /// The suppression list: addresses never mailed, and why
    Suppressions(SuppressionsArgs),
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Issue files [default: every *.md in the issues folder]
    pub issues: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct PreviewArgs {
    pub issue: PathBuf,
    /// Output folder [default: preview/<issue-id>/]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Render for this subscriber [default: the first active one]
    #[arg(long = "as", value_name = "EMAIL")]
    pub as_email: Option<String>,
    /// Serve the viewer on 127.0.0.1 and reload it on changes
    #[arg(long)]
    pub serve: bool,
    #[arg(long, default_value_t = 8025)]
    pub port: u16,
    /// Open the viewer in a browser
    #[arg(long)]
    pub open: bool,
}

#[derive(Args, Debug)]
pub struct SendArgs {
    /// The issue file (or use --due)
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

#[derive(Subcommand, Debug)]
pub enum SubscribersCommand {
    /// Active recipients after suppression
    List,
    /// Number of active recipients after suppression
    Count,
    /// Every problem in the subscriber files
    Check,
    /// Normalise a CSV export from another tool into the subscribers folder
    Import(ImportArgs),
    /// Add a confirmed subscriber (kept in the state database, no file edited)
    Add(AddArgs),
    /// Stop mailing an address: deletes its sign-up; suppresses it if a file lists it
    Remove(RemoveArgs),
    /// Everyone on the list (files and sign-ups, every status) as CSV, with consent records
    Export(ExportArgs),
}

#[derive(Args, Debug)]
pub struct AddArgs {
    pub email: String,
    #[arg(long)]
    pub name: Option<String>,
}

#[derive(Args, Debug)]
pub struct RemoveArgs {
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
    pub file: PathBuf,
    /// Output file name inside the subscribers folder [default: imported-<stem>.csv]
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
}

#[derive(Args, Debug)]
pub struct UnsubscribeArgs {
    #[arg(required_unless_present = "token", conflicts_with = "token")]
    pub email: Option<String>,
    /// An unsubscribe token from a message's link
    #[arg(long)]
    pub token: Option<String>,
}

#[derive(Args, Debug)]
pub struct ResubscribeArgs {
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
    Parse(BouncesParseArgs),
    /// Record bounces and complaints from files, Maildirs, mboxes or stdin
    /// against their issue and subscriber, and suppress per [bounces] thresholds
    Import(BouncesImportArgs),
    /// Same as import, from the IMAP mailbox of [bounces]; marks what it took
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
