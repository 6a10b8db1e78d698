//! The helper itself, run as the addon runs it: a plan, `--`, a shell probing what it may do.
//! Linux only (the helper confines nothing elsewhere). Each test works in its own temp tree.
#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const HELPER: &str = env!("CARGO_BIN_EXE_sidecar-confine");

struct Tree(PathBuf);

impl Tree {
    fn new(name: &str) -> Tree {
        let root = std::env::temp_dir().join(format!("confine-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("w/.git/hooks")).expect("mkdir");
        std::fs::create_dir_all(root.join("secret")).expect("mkdir");
        std::fs::write(root.join("secret/key"), "hidden").expect("write");
        std::fs::write(root.join("w/.env"), "TOKEN=1").expect("write");
        Tree(std::fs::canonicalize(&root).expect("canonical"))
    }
    fn p(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(plan: &[&str], script: &str) -> Output {
    Command::new(HELPER)
        .args(plan)
        .args(["--", "/bin/sh", "-c", script])
        .output()
        .expect("helper runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn the_probe_says_what_the_machine_allows() {
    let o = Command::new(HELPER).arg("--probe").output().expect("probe");
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    for key in ["landlock=", "root=", "user_ns=", "mount_ns=", "net_ns="] {
        assert!(out.lines().any(|l| l.starts_with(key)), "{key} in {out}");
    }
}

#[test]
fn writes_only_below_the_writable_paths_for_the_whole_tree() {
    let t = Tree::new("files");
    let w = t.p("w");
    let out = t.p("out");
    let o = run(
        &["--files", "--write", s(&w), "--write", "/dev/null"],
        &format!(
            "echo a > {w}/a && sh -c 'echo b > {w}/b' && echo ok; \
             echo c > {out} 2>/dev/null || echo runner-denied; \
             sh -c 'echo d > {out}' 2>/dev/null || echo grandchild-denied; \
             ln -s {out} {w}/link; echo e > {w}/link 2>/dev/null || echo link-denied",
            w = s(&w),
            out = s(&out)
        ),
    );
    let got = text(&o);
    for want in ["ok", "runner-denied", "grandchild-denied", "link-denied"] {
        assert!(got.lines().any(|l| l == want), "{want} in {got}");
    }
    assert!(w.join("a").is_file() && w.join("b").is_file());
    assert!(!out.exists());
}

#[test]
fn read_only_and_hidden_paths_hold_and_cannot_be_renamed_away() {
    let t = Tree::new("mounts");
    let (w, git, secret) = (t.p("w"), t.p("w/.git"), t.p("secret"));
    let o = run(
        &[
            "--mount-ns",
            "--read-only",
            s(&git),
            "--hide",
            s(&secret),
            "--hide",
            s(&t.p("w/.env")),
            "--files",
            "--write",
            s(&w),
        ],
        &format!(
            "echo x > {git}/hooks/pre-commit 2>/dev/null || echo git-read-only; \
             mv {git} {w}/moved 2>/dev/null || echo git-pinned; \
             echo \"[$(cat {secret}/key 2>/dev/null)]\"; echo \"[$(ls -A {secret})]\"; \
             echo \"[$(cat {w}/.env)]\"; echo y > {w}/new && echo w-writable",
            git = s(&git),
            w = s(&w),
            secret = s(&secret)
        ),
    );
    let got = text(&o);
    for want in ["git-read-only", "git-pinned", "[]", "w-writable"] {
        assert!(got.lines().any(|l| l == want), "{want} in {got}");
    }
    assert!(!got.contains("hidden") && !got.contains("TOKEN"), "{got}");
    assert!(!git.join("hooks/pre-commit").exists());
    assert_eq!(
        std::fs::read_to_string(t.p("w/.env")).expect("env"),
        "TOKEN=1"
    );
}

#[test]
fn a_network_namespace_does_not_reach_the_hosts_loopback() {
    let host = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = host.local_addr().expect("addr").port();
    // bash's /dev/tcp: the shell itself connects. (That the namespace's own loopback is up
    // is checked from a session in __test__/sandbox.test.mjs.)
    let o = Command::new(HELPER)
        .args(["--net-ns", "--", "/bin/bash", "-c"])
        .arg(format!(
            "(exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null && echo reached-host || echo host-unreachable"
        ))
        .output()
        .expect("helper runs");
    let got = text(&o);
    assert!(got.contains("host-unreachable"), "{got}");
    assert!(!got.contains("reached-host"), "{got}");
}

#[test]
fn tcp_connects_only_to_the_allowed_port() {
    let allowed = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    let other = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    let (a, b) = (
        allowed.local_addr().expect("addr").port(),
        other.local_addr().expect("addr").port(),
    );
    let o = Command::new(HELPER)
        .args(["--tcp", &a.to_string(), "--", "/bin/bash", "-c"])
        .arg(format!(
            "(exec 3<>/dev/tcp/127.0.0.1/{a}) && echo allowed-ok; \
             (exec 3<>/dev/tcp/127.0.0.1/{b}) 2>/dev/null || echo other-denied"
        ))
        .output()
        .expect("helper runs");
    let got = text(&o);
    assert!(
        got.contains("allowed-ok") && got.contains("other-denied"),
        "{got}"
    );
}

#[test]
fn without_root_a_user_namespace_makes_the_mounts_possible() {
    // SAFETY: geteuid cannot fail and touches no memory.
    if unsafe { libc::geteuid() } != 0 || !Path::new("/usr/bin/setpriv").exists() {
        eprintln!("skipped: needs root (to become nobody) and setpriv");
        return;
    }
    let t = Tree::new("userns");
    let chown = Command::new("chown")
        .args(["-R", "65534:65534", s(&t.0)])
        .status()
        .expect("chown");
    assert!(chown.success());
    let git = t.p("w/.git");
    let o = Command::new("/usr/bin/setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", HELPER])
        .args(["--user-ns", "--mount-ns", "--read-only", s(&git)])
        .args(["--files", "--write", s(&t.p("w")), "--"])
        .args(["/bin/sh", "-c"])
        .arg(format!(
            "id -u; echo x > {g}/x 2>/dev/null || echo git-read-only; echo y > {w}/y && echo w-ok",
            g = s(&git),
            w = s(&t.p("w"))
        ))
        .output()
        .expect("helper runs");
    let got = text(&o);
    assert!(got.starts_with("65534"), "still the same user: {got}");
    assert!(
        got.contains("git-read-only") && got.contains("w-ok"),
        "{got}"
    );
}

#[test]
fn a_plan_that_cannot_be_applied_stops_before_the_program() {
    let bad = run(&["--tcp", "x"], "echo ran");
    assert_eq!(
        bad.status.code(),
        Some(sidecar_confine::EXIT_CONFINE_FAILED)
    );
    assert!(text(&bad).starts_with(sidecar_confine::ERROR_PREFIX));
    assert!(!text(&bad).contains("ran"));
    let missing = run(&["--mount-ns", "--read-only", "/nonexistent/x"], "echo ran");
    assert_eq!(
        missing.status.code(),
        Some(sidecar_confine::EXIT_CONFINE_FAILED)
    );
    assert!(
        text(&missing).contains("read-only /nonexistent/x"),
        "{}",
        text(&missing)
    );
    // The helper's parent is this test, not pid 1: it refuses to start an orphan-to-be.
    let orphan = run(&["--parent", "1"], "echo ran");
    assert_eq!(
        orphan.status.code(),
        Some(sidecar_confine::EXIT_CONFINE_FAILED)
    );
    assert!(text(&orphan).contains("gone"), "{}", text(&orphan));
}

#[test]
fn the_program_has_no_capabilities_even_as_root() {
    let o = run(
        &["--files", "--write", "/dev/null"],
        "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb):' /proc/self/status",
    );
    let got = text(&o);
    assert_eq!(got.lines().count(), 5, "{got}");
    for line in got.lines() {
        assert!(line.ends_with("0000000000000000"), "{line}");
    }
}

#[test]
fn devices_are_closed_but_the_ones_a_program_needs() {
    // A block device of this machine, if any (/sys/block lists them).
    let disk = std::fs::read_dir("/sys/block")
        .ok()
        .and_then(|mut d| d.find_map(|e| e.ok()))
        .map(|e| PathBuf::from("/dev").join(e.file_name()))
        .filter(|p| p.exists());
    let script = format!(
        "head -c 1 /dev/urandom >/dev/null && echo urandom-ok; echo x > /dev/null && echo null-ok; \
         ls /dev >/dev/null && echo list-ok; {}",
        disk.as_ref().map_or(String::new(), |d| format!(
            "head -c 1 {} >/dev/null 2>&1 || echo disk-denied",
            s(d)
        ))
    );
    let o = run(
        &["--files", "--write", "/dev/null", "--write", "/dev/urandom"],
        &script,
    );
    let got = text(&o);
    for want in ["urandom-ok", "null-ok", "list-ok"] {
        assert!(got.lines().any(|l| l == want), "{want} in {got}");
    }
    if disk.is_some() {
        assert!(got.lines().any(|l| l == "disk-denied"), "{got}");
    }
}
