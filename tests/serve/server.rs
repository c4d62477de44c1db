//! `panoptic serve` run as the real binary, stopped when dropped.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

/// A running `panoptic serve`.
pub struct Serve {
    child: Child,
    /// Kept open: a closed pipe would fail the server's next line.
    _stdout: BufReader<ChildStdout>,
    /// `127.0.0.1:PORT`, whatever address it was bound to.
    pub addr: String,
}

impl Serve {
    /// Starts `panoptic serve ARGS` reading `uri` (and `spool`), and waits
    /// for the line that says where it listens.
    pub fn start(args: &[&str], uri: &str, spool: &Path) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_panoptic"))
            .arg("serve")
            .args(args)
            .env("MONGODB_URI", uri)
            .env("PANOPTIC_SPOOL_DIR", spool)
            .env_remove("PANOPTIC_SERVE_TOKEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("panoptic serve");
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        stdout.read_line(&mut line).expect("the serving line");
        let url = line
            .split("serving http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        let port = url.rsplit(':').next().expect("port");
        Serve {
            child,
            _stdout: stdout,
            addr: format!("127.0.0.1:{port}"),
        }
    }

    /// The base URL a local browser opens.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
