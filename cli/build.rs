//! Embeds the server templates into the `plug` binary for `plug new`, so
//! that editing a template rebuilds this tool and nothing else.
//!
//! Each template is a folder of this repository. Files its `.gitignore`
//! names (build output, node_modules) are left out, so what is embedded is
//! what git tracks. Also embedded: PROTOCOL.md (written into every new
//! folder), and for the Rust template the source of the `plug` crate, the
//! workspace manifest and lock file (`plug new rust` vendors the crate).

use std::env;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// (name, folder relative to the repository root, what it is).
const TEMPLATES: &[(&str, &str, &str)] = &[
    ("python", "bindings-examples/python", "Python, pyzmq"),
    ("ruby", "bindings-examples/ruby", "Ruby, ffi-rzmq"),
    ("php", "bindings-examples/php", "PHP, ext-zmq"),
    ("java", "bindings-examples/java", "Java, JeroMQ"),
    ("node", "bindings-examples/node", "Node.js, zeromq 6"),
    ("c", "bindings-examples/c", "C, libzmq"),
    (
        "rails",
        "bindings-examples/ruby-rails-bridge",
        "Ruby, a Rails-style ActiveRecord bridge",
    ),
    ("rust", "bindings-examples/rust", "Rust, plug::server"),
];

/// The kit's crates a Rust template vendors: (package, folder). Every path
/// dependency of these must be here too (checked below).
const VENDORED: &[(&str, &str)] = &[("plug", "client")];

/// Never embedded, whatever a .gitignore says.
const ALWAYS_SKIP: &[&str] = &["target", "node_modules", ".git"];

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest.parent().unwrap().to_path_buf();
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("templates.rs");
    let mut code = String::from("pub static TEMPLATES: &[Template] = &[\n");
    for (name, dir, about) in TEMPLATES {
        let base = root.join(dir);
        println!("cargo:rerun-if-changed={}", base.display());
        let ignore = read_ignore(&base);
        let mut files = Vec::new();
        if base.is_dir() {
            collect(&base, &base, &ignore, &mut files);
        }
        files.sort();
        code.push_str(&format!(
            "    Template {{ name: {name:?}, about: {about:?}, files: &[\n"
        ));
        for (rel, abs, exec) in files {
            println!("cargo:rerun-if-changed={}", abs.display());
            code.push_str(&format!(
                "        TemplateFile {{ path: {rel:?}, contents: include_bytes!({abs:?}), executable: {exec} }},\n",
                abs = abs.display().to_string()
            ));
        }
        code.push_str("    ] },\n");
    }
    code.push_str("];\n");
    code.push_str("pub static VENDORED: &[Template] = &[\n");
    for (name, dir) in VENDORED {
        let base = root.join(dir);
        check_path_dependencies(&root, &base);
        let mut files = vec![("Cargo.toml".to_owned(), base.join("Cargo.toml"), false)];
        collect(&base, &base.join("src"), &[], &mut files);
        files.sort();
        code.push_str(&format!(
            "    Template {{ name: {name:?}, about: {dir:?}, files: &[\n"
        ));
        for (rel, abs, exec) in files {
            println!("cargo:rerun-if-changed={}", abs.display());
            code.push_str(&format!(
                "        TemplateFile {{ path: {rel:?}, contents: include_bytes!({abs:?}), executable: {exec} }},\n",
                abs = abs.display().to_string()
            ));
        }
        code.push_str("    ] },\n");
    }
    code.push_str("];\n");
    for (constant, file) in [
        ("PROTOCOL", "PROTOCOL.md"),
        ("WORKSPACE_LOCK", "Cargo.lock"),
    ] {
        let path = root.join(file);
        println!("cargo:rerun-if-changed={}", path.display());
        code.push_str(&format!(
            "pub static {constant}: &str = include_str!({:?});\n",
            path.display().to_string()
        ));
    }
    let workspace = root.join("Cargo.toml");
    println!("cargo:rerun-if-changed={}", workspace.display());
    code.push_str(&format!(
        "pub static WORKSPACE_MANIFEST: &str = include_str!({:?});\n",
        workspace.display().to_string()
    ));
    fs::File::create(out)
        .unwrap()
        .write_all(code.as_bytes())
        .unwrap();
}

/// Stops the build when a vendored crate gains a path dependency that is
/// not vendored too: the generated project would not build elsewhere.
fn check_path_dependencies(root: &Path, base: &Path) {
    let text = fs::read_to_string(base.join("Cargo.toml")).unwrap();
    let workspace = fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let in_workspace = |name: &str| {
        workspace
            .lines()
            .any(|l| l.trim_start().starts_with(&format!("{name} =")) && l.contains("path ="))
    };
    let mut section = String::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line.to_owned();
            continue;
        }
        if section != "[dependencies]" {
            continue;
        }
        let Some(name) = line.split(['=', '.', ' ']).next().filter(|n| !n.is_empty()) else {
            continue;
        };
        let is_path = line.contains("path =") || (line.contains("workspace") && in_workspace(name));
        if is_path && !VENDORED.iter().any(|(n, _)| *n == name) {
            panic!(
                "{}: the path dependency `{name}` must be in VENDORED",
                base.display()
            );
        }
    }
}

fn read_ignore(dir: &Path) -> Vec<String> {
    fs::read_to_string(dir.join(".gitignore"))
        .unwrap_or_default()
        .lines()
        .map(|l| {
            l.trim()
                .trim_start_matches('/')
                .trim_end_matches('/')
                .to_owned()
        })
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

fn ignored(name: &str, ignore: &[String]) -> bool {
    ALWAYS_SKIP.contains(&name)
        || ignore.iter().any(|pat| match pat.strip_prefix('*') {
            Some(suffix) => name.ends_with(suffix),
            None => name == pat,
        })
}

fn collect(base: &Path, dir: &Path, ignore: &[String], out: &mut Vec<(String, PathBuf, bool)>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if ignored(&name, ignore) {
            continue;
        }
        let path = entry.path();
        let Ok(meta) = fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            collect(base, &path, ignore, out);
        } else if meta.is_file() {
            let rel = path
                .strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let exec = meta.permissions().mode() & 0o111 != 0;
            out.push((rel, path, exec));
        }
    }
}
