//! What a sandboxed session owns while it lives: its private temp folder (removed with the
//! session) and its proxy listener (closed with it, ending every connection through it).

use std::io;
use std::path::{Path, PathBuf};

use super::proxy::ProxyListener;

/// Held by the session; dropping it removes the temp folder and closes the listener.
#[derive(Default)]
pub struct Lease {
    temp: Option<PathBuf>,
    proxy: Option<ProxyListener>,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("temp", &self.temp)
            .field("proxy", &self.proxy.as_ref().map(ProxyListener::port))
            .finish()
    }
}

impl Lease {
    /// Makes a private temp folder for session `id` in `parent` (mode 0700 on Unix):
    /// `<parent>/sidecar-<id>-<random>`, the id cut to safe characters.
    pub fn with_temp(parent: &Path, id: &str) -> io::Result<Lease> {
        let safe: String = id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .take(40)
            .collect();
        let random = uuid::Uuid::new_v4().simple().to_string();
        let dir = parent.join(format!("sidecar-{safe}-{}", &random[..12]));
        crate::process::create_private_dir(&dir)?;
        Ok(Lease {
            temp: Some(std::fs::canonicalize(&dir).unwrap_or(dir)),
            proxy: None,
        })
    }

    /// The private temp folder.
    pub fn temp(&self) -> Option<&Path> {
        self.temp.as_deref()
    }

    /// Keeps the session's proxy listener open as long as the lease.
    pub fn hold_proxy(&mut self, listener: ProxyListener) {
        self.proxy = Some(listener);
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.proxy = None;
        if let Some(dir) = &self.temp
            // remove_dir_all does not follow symlinks the session left in it.
            && let Err(e) = std::fs::remove_dir_all(dir)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(path = %dir.display(), error = %e, "sandbox temp folder not removed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_temp_folder_is_private_and_goes_with_the_lease() {
        let lease = Lease::with_temp(&std::env::temp_dir(), "a/b c").expect("made");
        let dir = lease.temp().expect("temp").to_owned();
        assert!(dir.is_dir());
        let name = dir.file_name().and_then(|n| n.to_str()).expect("name");
        assert!(name.starts_with("sidecar-a_b_c-"), "{name}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&dir).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        std::fs::write(dir.join("f"), "x").expect("write");
        drop(lease);
        assert!(!dir.exists());
    }
}
