//! The `ip` commands behind the namespaced test bed: namespaces, veth pairs,
//! a bridge, addresses, and the clean-up of each.

use std::process::Command;

/// Runs `ip ARGS`; its stdout, or its stderr as the error.
pub(crate) fn ip(args: &[&str]) -> Result<String, String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run `ip`: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`ip {}`: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Like [`ip`], for a step the bed cannot do without.
pub(crate) fn must(args: &[&str]) {
    if let Err(e) = ip(args) {
        panic!("test bed: {e}");
    }
}

/// Names of the network namespaces now, from `ip netns list`.
pub(crate) fn namespaces() -> Vec<String> {
    ip(&["netns", "list"])
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// Names of the links in this process's namespace, without `@peer`.
pub(crate) fn links() -> Vec<String> {
    ip(&["-o", "link", "show"])
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let name = l.split(": ").nth(1)?;
            Some(name.split('@').next()?.to_owned())
        })
        .collect()
}

/// Destinations of this namespace's IPv4 routes (`default` left out).
pub(crate) fn routes() -> Vec<String> {
    ip(&["-4", "route", "show"])
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|d| *d != "default")
        .map(str::to_owned)
        .collect()
}

/// Kills every process in namespace `ns` (the bed's servers and DNS
/// server; nothing else runs there) and deletes it; its veth ends go with
/// it, and their peers too.
pub(crate) fn delete_namespace(ns: &str) {
    if let Ok(pids) = ip(&["netns", "pids", ns]) {
        for pid in pids
            .split_whitespace()
            .filter_map(|p| p.parse::<i32>().ok())
        {
            // SAFETY: kill(2) on a process inside the bed's own namespace.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
    let _ = ip(&["netns", "del", ns]);
}
