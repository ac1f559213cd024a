//! Captures the commit being built (`git rev-parse --short HEAD`) for the harness's failure
//! reports, as `DOCENT_SIM_COMMIT`; "unknown" outside a git checkout.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (out.status.success() && !text.is_empty()).then(|| text.to_owned())
}

fn main() {
    let commit = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=DOCENT_SIM_COMMIT={commit}");
    // Rebuild when HEAD moves: the file HEAD names a branch, whose ref file changes on commit.
    if let Some(head) = git(&["rev-parse", "--git-path", "HEAD"]) {
        println!("cargo:rerun-if-changed={head}");
    }
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        for name in [branch.as_str(), "packed-refs"] {
            match git(&["rev-parse", "--git-path", name]) {
                Some(file) if std::path::Path::new(&file).exists() => {
                    println!("cargo:rerun-if-changed={file}");
                    break;
                }
                _ => {}
            }
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
