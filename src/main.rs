//! The `vdx` binary: subcommands run the command line; see `vdx --help`.

fn main() -> std::process::ExitCode {
    vdx::cli::main()
}
