//! The `vdx` binary: subcommands run the command line; see `vdx --help`.

fn main() -> std::process::ExitCode {
    vdx::memory::keep_freed_memory();
    vdx::cli::main()
}
