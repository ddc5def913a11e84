//! `widgettdc codegen ts`: write a typed TypeScript client for the HTTP API of
//! `widgettdc serve` (`widgettdc_serve::codegen`).

use std::path::{Path, PathBuf};

use clap::Subcommand;

use super::ProjectArgs;

#[derive(Subcommand, Debug)]
pub enum CodegenCommand {
    /// Write `client.ts`: a TypeScript client for the HTTP API of `widgettdc serve`, with a
    /// typed method per served tool and per widget.
    Ts {
        #[command(flatten)]
        project: ProjectArgs,
        /// The directory to write client.ts into (created if missing).
        #[arg(long, default_value = "widgettdc-client")]
        out: PathBuf,
    },
}

pub fn run(command: &CodegenCommand) -> i32 {
    match command {
        CodegenCommand::Ts { project, out } => ts(project, out),
    }
}

fn ts(args: &ProjectArgs, out: &Path) -> i32 {
    let rt = match super::serve::load(args) {
        Ok(rt) => rt,
        Err(problem) => {
            eprintln!("{}", problem.text());
            if let super::serve::Unservable::Errors(_) = problem {
                eprintln!(
                    "error: the project has errors, so no client is generated (run `widgettdc check`)"
                );
            }
            return problem.exit_code();
        }
    };
    let code = widgettdc_serve::codegen::typescript(&rt);
    let path = out.join("client.ts");
    if let Err(e) = std::fs::create_dir_all(out).and_then(|()| std::fs::write(&path, &code)) {
        eprintln!("error: cannot write {}: {e}", path.display());
        return 2;
    }
    let tools = widgettdc_serve::served_tools(&rt, None).len();
    let widgets = rt.compiled.widgets.len();
    eprintln!(
        "widgettdc: wrote {} ({tools} tool{}, {widgets} widget{})",
        path.display(),
        if tools == 1 { "" } else { "s" },
        if widgets == 1 { "" } else { "s" },
    );
    0
}
