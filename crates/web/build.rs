//! Builds the dashboard (`web/`) with npm and leaves `web/dist` for
//! rust-embed. `npm install --no-save` runs when node_modules is missing or older than
//! package-lock.json; `npm run build` runs whenever a source file changed
//! (cargo's rerun-if-changed decides). Without npm the build fails and says
//! what to install.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

fn main() {
    let manifest =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let web = manifest.join("../../web");
    let web = web.canonicalize().unwrap_or(web);
    for p in [
        "src",
        "index.html",
        "package.json",
        "package-lock.json",
        "vite.config.ts",
        "tsconfig.json",
        "public",
    ] {
        println!("cargo:rerun-if-changed={}", web.join(p).display());
    }
    println!("cargo:rerun-if-env-changed=SECMO_WEB_SKIP_NPM");
    // For packagers who build web/dist themselves (e.g. in a separate stage).
    if std::env::var_os("SECMO_WEB_SKIP_NPM").is_some() {
        if !web.join("dist/index.html").exists() {
            fail(
                "SECMO_WEB_SKIP_NPM is set but web/dist/index.html does not exist; run `npm install --no-save && npm run build` in web/ first",
            );
        }
        return;
    }
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    match Command::new(npm).arg("--version").output() {
        Ok(o) if o.status.success() => {}
        _ => fail(
            "npm was not found: the web dashboard is built with Node.js and npm at compile time.\n\
             Install Node.js 20 or newer with npm (Debian/Ubuntu: `apt-get install -y nodejs npm`, \
             or https://nodejs.org/), then build again.",
        ),
    }
    let lock = web.join("package-lock.json");
    let stamp = web.join("node_modules/.package-lock.json");
    if !stamp.exists() || mtime(&lock) > mtime(&stamp) {
        // Not `npm ci`: npm 11 writes lock files without other platforms'
        // optional packages (rollup, esbuild binaries) and `npm ci` then
        // refuses them. `install --no-save` installs exactly what the lock
        // file says and never rewrites it.
        run(
            npm,
            &["install", "--no-save", "--no-audit", "--no-fund"],
            &web,
        );
    }
    run(npm, &["run", "build"], &web);
    if !web.join("dist/index.html").exists() {
        fail("npm run build finished but web/dist/index.html is missing");
    }
}

fn mtime(p: &Path) -> SystemTime {
    std::fs::metadata(p)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

fn run(npm: &str, args: &[&str], dir: &Path) {
    let status = Command::new(npm)
        .args(args)
        .current_dir(dir)
        // npm's progress output goes to cargo's build log; keep it short.
        .env("NO_UPDATE_NOTIFIER", "1")
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => fail(&format!(
            "`npm {}` in {} failed ({s}); see the output above",
            args.join(" "),
            dir.display()
        )),
        Err(e) => fail(&format!("could not run npm: {e}")),
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("error: secmo-web: {msg}");
    std::process::exit(1);
}
