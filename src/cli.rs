//! The `vdx` command line: each subcommand parses its arguments and calls the same core
//! functions the GUI uses; it holds no logic of its own beyond formatting.

use crate::error::{Result, VdxError};
use crate::index::{self, IndexOptions};
use crate::media::ProbeBudget;
use crate::probe;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "vdx",
    version,
    about = "vdx: the video dataset explorer",
    long_about = "Probe, index and decode videos exactly; build, inspect and verify video datasets."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Container and stream facts from the header, on a bounded probe budget.
    Probe(ProbeArgs),
    /// Packet index of the video stream: every frame's pts, size, keyframe flag and type.
    Index(IndexArgs),
}

#[derive(Args, Debug, Clone, Copy)]
pub struct BudgetArgs {
    /// Bytes FFmpeg may read to find the stream parameters.
    #[arg(long, default_value_t = ProbeBudget::default().probesize_bytes)]
    pub probesize: u64,
    /// Media time FFmpeg may analyse to find stream parameters, in microseconds.
    #[arg(long, default_value_t = ProbeBudget::default().analyze_duration_us)]
    pub analyzeduration: u64,
}

impl BudgetArgs {
    fn budget(&self) -> ProbeBudget {
        ProbeBudget {
            probesize_bytes: self.probesize,
            analyze_duration_us: self.analyzeduration,
        }
    }
}

#[derive(Args, Debug)]
pub struct ProbeArgs {
    /// Video files to probe.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Print JSON (keys follow ffprobe's names) instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub budget: BudgetArgs,
}

#[derive(Args, Debug)]
pub struct IndexArgs {
    /// The video file to index.
    pub file: PathBuf,
    /// Print the whole index as JSON.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print one CSV row per frame (presentation order).
    #[arg(long)]
    pub csv: bool,
    /// Skip the bitstream parser (no I/P/B types; slightly faster).
    #[arg(long)]
    pub no_types: bool,
    #[command(flatten)]
    pub budget: BudgetArgs,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => {
            eprintln!("vdx: no subcommand given; see `vdx --help`");
            ExitCode::from(2)
        }
        Some(cmd) => match run(cmd) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("vdx: error: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

/// Run one subcommand.
pub fn run(cmd: Command) -> Result<ExitCode> {
    match cmd {
        Command::Probe(a) => cmd_probe(a),
        Command::Index(a) => cmd_index(a),
    }
}

fn print_json<T: serde::Serialize>(v: &T) -> Result<()> {
    let s = serde_json::to_string_pretty(v)
        .map_err(|e| VdxError::write(std::path::Path::new("<stdout>"), e))?;
    println!("{s}");
    Ok(())
}

fn cmd_probe(a: ProbeArgs) -> Result<ExitCode> {
    let budget = a.budget.budget();
    let mut failed = 0usize;
    let mut results = Vec::new();
    for f in &a.files {
        match probe::probe(f, &budget) {
            Ok(p) => {
                if a.json {
                    results.push(serde_json::to_value(&p).unwrap_or_default());
                } else {
                    print!("{}", probe::format_table(&p));
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("vdx: error: {e}");
                if a.json {
                    results.push(serde_json::json!({
                        "filename": f.display().to_string(),
                        "error": e.to_string(),
                    }));
                }
            }
        }
    }
    if a.json {
        if a.files.len() == 1 {
            print_json(&results[0])?;
        } else {
            print_json(&results)?;
        }
    }
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn cmd_index(a: IndexArgs) -> Result<ExitCode> {
    let opts = IndexOptions {
        frame_types: !a.no_types,
        budget: a.budget.budget(),
    };
    let idx = index::build_index(&a.file, &opts)?;
    if a.json {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            summary: index::IndexSummary,
            #[serde(flatten)]
            index: &'a index::VideoIndex,
        }
        print_json(&Out {
            summary: idx.summary(),
            index: &idx,
        })?;
    } else if a.csv {
        print!("{}", index::to_csv(&idx));
        for w in &idx.warnings {
            eprintln!("vdx: warning: {}: {w}", a.file.display());
        }
    } else {
        print!("{}", index::format_summary(&idx));
    }
    Ok(ExitCode::SUCCESS)
}
