//! The Rust template as a project of its own: named after its folder, with
//! the kit's `plug` crate copied into `vendor/` and taken by a relative
//! path, so the folder builds wherever it is moved and needs nothing but
//! crates.io. The kit's lock file comes along, so the first build picks the
//! versions the kit is tested with.

use std::path::Path;

use crate::failure::{Failure, EXIT_USAGE};
use crate::new::{write_file, VENDORED, WORKSPACE_LOCK, WORKSPACE_MANIFEST};

/// The package name for a project in `dir`: its folder name, lower case,
/// with anything but letters, digits, `-` and `_` turned into `-`.
pub fn package_name(dir: &Path) -> Result<String, Failure> {
    let folder = dir
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut name: String = folder
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '-' | '_' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '-',
        })
        .collect();
    name = name.trim_matches('-').to_owned();
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name = format!("server-{name}").trim_end_matches('-').to_owned();
    }
    if VENDORED.iter().any(|c| c.name == name) {
        name.push_str("-server"); // a package cannot depend on its own name
    }
    if name.len() > 64 {
        return Err(Failure::new(
            EXIT_USAGE,
            format!(
                "{}: the folder name is too long for a package",
                dir.display()
            ),
        ));
    }
    Ok(name)
}

/// The template's manifest for the project: its name, `plug` from
/// `vendor/plug`, and a `[workspace]` of its own (so that it builds even
/// inside another workspace) that leaves `vendor/` out.
pub fn project_manifest(template: &[u8], name: &str) -> Result<String, Failure> {
    let mut doc = parse(template)?;
    let package = table(&mut doc, "package")?;
    package.insert("name".into(), name.into());
    let deps = table(&mut doc, "dependencies")?;
    for c in VENDORED {
        if let Some(dep) = deps.get_mut(c.name) {
            let mut vendored = toml::Table::new();
            vendored.insert("path".into(), format!("vendor/{}", c.name).into());
            *dep = vendored.into();
        }
    }
    let mut workspace = toml::Table::new();
    workspace.insert("exclude".into(), vec![toml::Value::from("vendor")].into());
    doc.insert("workspace".into(), workspace.into());
    Ok(toml::to_string(&doc).expect("a TOML table prints"))
}

/// Writes `vendor/NAME/` for every vendored crate, and the kit's lock file.
pub fn write(dir: &Path) -> Result<(), Failure> {
    for c in VENDORED {
        let base = dir.join("vendor").join(c.name);
        for file in c.files {
            let contents = if file.path == "Cargo.toml" {
                standalone_manifest(file.contents)?.into_bytes()
            } else {
                file.contents.to_vec()
            };
            write_file(&base.join(file.path), &contents, file.executable)?;
        }
    }
    write_file(&dir.join("Cargo.lock"), WORKSPACE_LOCK.as_bytes(), false)
}

/// A workspace member's manifest made standalone: keys inherited from the
/// workspace written out, the kit's other crates taken from `../NAME`, and
/// what only the kit's own builds need (tests, benches, dev-dependencies)
/// left out.
fn standalone_manifest(member: &[u8]) -> Result<String, Failure> {
    let mut doc = parse(member)?;
    let ws = parse(WORKSPACE_MANIFEST.as_bytes())?;
    let ws = ws.get("workspace").and_then(toml::Value::as_table);
    let ws_package = ws
        .and_then(|w| w.get("package"))
        .and_then(toml::Value::as_table);
    let ws_deps = ws
        .and_then(|w| w.get("dependencies"))
        .and_then(toml::Value::as_table);
    let inherits = |v: &toml::Value| {
        v.as_table()
            .and_then(|t| t.get("workspace"))
            .and_then(toml::Value::as_bool)
            == Some(true)
    };
    let package = table(&mut doc, "package")?;
    // Files outside the crate's folder that the kit's packaging names.
    package.remove("readme");
    package.remove("include");
    for (key, value) in package.iter_mut() {
        if inherits(value) {
            if let Some(v) = ws_package.and_then(|p| p.get(key)) {
                *value = v.clone();
            }
        }
    }
    for (name, spec) in table(&mut doc, "dependencies")?.iter_mut() {
        let mut resolved = match ws_deps.and_then(|d| d.get(name)) {
            Some(toml::Value::String(version)) if inherits(spec) => {
                let mut t = toml::Table::new();
                t.insert("version".into(), version.clone().into());
                t
            }
            Some(toml::Value::Table(t)) if inherits(spec) => t.clone(),
            _ => spec.as_table().cloned().unwrap_or_default(),
        };
        resolved.remove("workspace");
        if resolved.contains_key("path") {
            resolved.insert("path".into(), format!("../{name}").into());
        }
        let extra = spec.as_table().and_then(|t| t.get("features")).cloned();
        if let (Some(toml::Value::Array(extra)), true) = (extra, inherits(spec)) {
            let mut features = resolved
                .get("features")
                .and_then(toml::Value::as_array)
                .cloned()
                .unwrap_or_default();
            features.extend(extra);
            resolved.insert("features".into(), features.into());
        }
        *spec = resolved.into();
    }
    for section in ["dev-dependencies", "bench", "test", "example", "lints"] {
        doc.remove(section);
    }
    Ok(format!(
        "# The plug crate, vendored by `plug new rust` from the plug kit.\n{}",
        toml::to_string(&doc).expect("a TOML table prints")
    ))
}

fn parse(text: &[u8]) -> Result<toml::Table, Failure> {
    let bad =
        |e: &dyn std::fmt::Display| Failure::new(EXIT_USAGE, format!("embedded Cargo.toml: {e}"));
    std::str::from_utf8(text)
        .map_err(|e| bad(&e))?
        .parse()
        .map_err(|e: toml::de::Error| bad(&e))
}

fn table<'a>(doc: &'a mut toml::Table, key: &str) -> Result<&'a mut toml::Table, Failure> {
    doc.get_mut(key)
        .and_then(toml::Value::as_table_mut)
        .ok_or_else(|| Failure::new(EXIT_USAGE, format!("embedded Cargo.toml has no [{key}]")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names_come_from_the_folder() {
        let name = |dir: &str| package_name(Path::new(dir)).unwrap();
        assert_eq!(name("/tmp/My Service"), "my-service");
        assert_eq!(name("game_server"), "game_server");
        assert_eq!(name("2048"), "server-2048");
        assert_eq!(name("plug"), "plug-server");
        assert_eq!(name("./x/"), "x");
    }

    #[test]
    fn the_vendored_manifest_stands_alone() {
        let plug = &VENDORED[0];
        let manifest = plug.files.iter().find(|f| f.path == "Cargo.toml").unwrap();
        let text = standalone_manifest(manifest.contents).unwrap();
        assert!(!text.contains("workspace"), "{text}");
        let doc: toml::Table = text.parse().unwrap();
        assert_eq!(doc["package"]["name"].as_str(), Some("plug"));
        assert!(doc["package"]["version"].is_str());
        assert!(doc["dependencies"]["zmq"]["version"].is_str());
        assert!(doc.get("dev-dependencies").is_none());
        assert!(plug.files.iter().any(|f| f.path == "src/lib.rs"));
    }
}
