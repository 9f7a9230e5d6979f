//! `plug new LANG DIR`: a fresh copy of a server template, from the copies
//! embedded in this binary, with PROTOCOL.md beside it.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::failure::Failure;

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

pub fn create(lang: &str, dir: &Path, force: bool) -> Result<String, Failure> {
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
    let rust = template.name == "rust";
    let package = if rust {
        Some(crate::vendor::package_name(dir)?)
    } else {
        None
    };
    for file in template.files {
        let contents = match &package {
            Some(name) if file.path == "Cargo.toml" => {
                crate::vendor::project_manifest(file.contents, name)?.into_bytes()
            }
            _ => file.contents.to_vec(),
        };
        write_file(&dir.join(file.path), &contents, file.executable)?;
    }
    write_file(&dir.join("PROTOCOL.md"), PROTOCOL.as_bytes(), false)?;
    if rust {
        crate::vendor::write(dir)?;
    }
    let shown = dir.display();
    let start = match template.name {
        "node" => format!("cd {shown} && npm install && ./run 'tcp://127.0.0.1:*'"),
        _ => format!("cd {shown} && ./run 'tcp://127.0.0.1:*'"),
    };
    let profile = if template.name == "rails" { "" } else { " rpc" };
    let mut summary = format!(
        "wrote the {} template ({} files, and PROTOCOL.md) to {shown}\n\
         start it:  {start}\n\
         check it:  cd {shown} && plug-conformance check --spawn './run {{endpoint}}{profile}'\n",
        template.name,
        template.files.len(),
    );
    if let Some(name) = package {
        summary.push_str(&format!(
            "package `{name}`; the plug crate is vendored in {shown}/vendor (README: \
             \"Where `plug` comes from\")\n"
        ));
    }
    Ok(summary)
}

/// Writes one file (creating its folder) with mode 0755 or 0644.
pub fn write_file(path: &Path, contents: &[u8], executable: bool) -> Result<(), Failure> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| Failure::file("create", parent, e))?;
    }
    let mode = if executable { 0o755 } else { 0o644 };
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(|e| Failure::file("write", path, e))?;
    f.write_all(contents)
        .map_err(|e| Failure::file("write", path, e))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| Failure::file("chmod", path, e))
}
