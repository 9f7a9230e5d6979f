//! `plug new LANG DIR`: a fresh copy of a server template, from the copies
//! embedded in this binary.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::commands::{Failure, EXIT_TRANSPORT};

pub struct Template {
    pub name: &'static str,
    pub about: &'static str,
    pub files: &'static [TemplateFile],
}

pub struct TemplateFile {
    pub path: &'static str,
    pub contents: &'static [u8],
    pub executable: bool,
}

include!(concat!(env!("OUT_DIR"), "/templates.rs"));

/// The list `plug new --list` prints.
pub fn list() -> String {
    let mut out = String::new();
    for t in TEMPLATES {
        out.push_str(&format!("{:<8} {}\n", t.name, t.about));
    }
    out
}

pub fn create(
    lang: &str,
    dir: &Path,
    force: bool,
    plug_path: Option<PathBuf>,
) -> Result<String, Failure> {
    let template = TEMPLATES.iter().find(|t| t.name == lang).ok_or_else(|| {
        let names: Vec<&str> = TEMPLATES.iter().map(|t| t.name).collect();
        Failure::usage(format!(
            "no template `{lang}` (choose one of: {})",
            names.join(", ")
        ))
    })?;
    if template.files.is_empty() {
        return Err(Failure::usage(format!(
            "template `{lang}` was empty when plug was built"
        )));
    }
    if dir.exists()
        && fs::read_dir(dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
        && !force
    {
        return Err(Failure::usage(format!(
            "{} exists and is not empty (use --force to write into it)",
            dir.display()
        )));
    }
    let io = |what: &str, p: &Path, e: std::io::Error| {
        Failure::new(
            EXIT_TRANSPORT,
            format!("cannot {what} {}: {e}", p.display()),
        )
    };
    for file in template.files {
        let target = dir.join(file.path);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| io("create", parent, e))?;
        }
        let contents: Vec<u8> = if template.name == "rust" && file.path == "Cargo.toml" {
            let client = plug_path
                .clone()
                .unwrap_or_else(|| PathBuf::from(CLIENT_DIR));
            standalone_manifest(file.contents, &client)?.into_bytes()
        } else {
            file.contents.to_vec()
        };
        let mode = if file.executable { 0o755 } else { 0o644 };
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&target)
            .map_err(|e| io("write", &target, e))?;
        f.write_all(&contents)
            .map_err(|e| io("write", &target, e))?;
        fs::set_permissions(&target, fs::Permissions::from_mode(mode))
            .map_err(|e| io("chmod", &target, e))?;
    }
    let first = match template.name {
        "rust" => format!(
            "cd {} && cargo run -- --bind 'tcp://127.0.0.1:*'",
            dir.display()
        ),
        "node" => format!(
            "cd {} && npm install && ./run 'tcp://127.0.0.1:*'",
            dir.display()
        ),
        "rails" => format!("{}/run 'tcp://127.0.0.1:*'", dir.display()),
        _ => format!("{}/run 'tcp://127.0.0.1:*' rpc", dir.display()),
    };
    let spawn = match template.name {
        "rust" => format!(
            "cargo run --manifest-path {}/Cargo.toml -- --bind {{endpoint}}",
            dir.display()
        ),
        _ => format!("{}/run {{endpoint}}", dir.display()),
    };
    Ok(format!(
        "wrote the {} template ({} files) to {}\nstart it:  {first}\ncheck it:  plug-conformance check --spawn '{spawn}'\n",
        template.name,
        template.files.len(),
        dir.display(),
    ))
}

/// The Rust template's manifest made standalone: workspace-inherited keys
/// resolved from this repository's workspace manifest, `plug` taken from
/// `client` and the kit's other crates (`plug-flags`) by their path in the
/// kit.
fn standalone_manifest(member: &[u8], client: &Path) -> Result<String, Failure> {
    let bad = |e: String| Failure::new(EXIT_TRANSPORT, format!("embedded Cargo.toml: {e}"));
    let text = std::str::from_utf8(member).map_err(|e| bad(e.to_string()))?;
    let mut doc: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| bad(e.to_string()))?;
    let ws: toml::Table = WORKSPACE_MANIFEST
        .parse()
        .map_err(|e: toml::de::Error| bad(e.to_string()))?;
    let ws = ws
        .get("workspace")
        .and_then(|w| w.as_table())
        .cloned()
        .unwrap_or_default();
    let ws_pkg = ws
        .get("package")
        .and_then(|p| p.as_table())
        .cloned()
        .unwrap_or_default();
    let ws_deps = ws
        .get("dependencies")
        .and_then(|p| p.as_table())
        .cloned()
        .unwrap_or_default();
    let inherits = |v: &toml::Value| {
        v.as_table()
            .and_then(|t| t.get("workspace"))
            .and_then(toml::Value::as_bool)
            == Some(true)
    };
    if let Some(pkg) = doc.get_mut("package").and_then(|p| p.as_table_mut()) {
        for (key, value) in pkg.iter_mut() {
            if inherits(value) {
                if let Some(v) = ws_pkg.get(key) {
                    *value = v.clone();
                }
            }
        }
    }
    if let Some(deps) = doc.get_mut("dependencies").and_then(|d| d.as_table_mut()) {
        for (name, spec) in deps.iter_mut() {
            if !inherits(spec) {
                continue;
            }
            let mut resolved = match ws_deps.get(name) {
                Some(toml::Value::String(v)) => {
                    let mut t = toml::Table::new();
                    t.insert("version".into(), toml::Value::String(v.clone()));
                    t
                }
                Some(toml::Value::Table(t)) => t.clone(),
                _ => toml::Table::new(),
            };
            if name == "plug" {
                resolved.clear();
                resolved.insert(
                    "path".into(),
                    toml::Value::String(client.display().to_string()),
                );
            } else if let Some(toml::Value::String(rel)) = resolved.get("path") {
                let abs = Path::new(KIT_ROOT).join(rel);
                resolved.insert(
                    "path".into(),
                    toml::Value::String(abs.display().to_string()),
                );
            }
            if let Some(extra) = spec
                .as_table()
                .and_then(|t| t.get("features"))
                .and_then(|f| f.as_array())
            {
                let mut feats = resolved
                    .get("features")
                    .and_then(|f| f.as_array())
                    .cloned()
                    .unwrap_or_default();
                feats.extend(extra.iter().cloned());
                resolved.insert("features".into(), toml::Value::Array(feats));
            }
            *spec = toml::Value::Table(resolved);
        }
    }
    for section in ["dev-dependencies", "bench", "test"] {
        doc.remove(section);
    }
    // Standalone even when created inside another workspace.
    doc.insert("workspace".into(), toml::Value::Table(toml::Table::new()));
    let body = toml::to_string(&doc).map_err(|e| bad(e.to_string()))?;
    Ok(format!(
        "# A new external service, started from the plug echo-server template.\n\
         # `plug` is taken from {}; point `path` elsewhere if the kit moves.\n{body}",
        client.display()
    ))
}
