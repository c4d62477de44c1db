//! Writing an override file so that a bad file never replaces a good one.

use std::path::{Path, PathBuf};

use super::RefreshError;

/// Writes `text` beside `path`, lets `check` read it back as the table it
/// must be, then moves it into place. When `check` fails, the file at
/// `path` (if any) is left as it was.
pub fn write_checked(
    path: &Path,
    text: &str,
    check: impl Fn(&Path) -> Result<(), String>,
) -> Result<(), RefreshError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, text).map_err(|error| RefreshError::File {
        path: tmp.clone(),
        action: "write",
        error,
    })?;
    if let Err(message) = check(&tmp) {
        let _ = std::fs::remove_file(&tmp);
        return Err(RefreshError::Unreadable { message });
    }
    std::fs::rename(&tmp, path).map_err(|error| RefreshError::File {
        path: path.to_owned(),
        action: "write",
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_does_not_read_back_leaves_the_old_one() {
        let dir = std::env::temp_dir().join(format!("panoptic-override-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("prices.toml");
        std::fs::write(&path, "good").unwrap();
        let refuse = |tmp: &Path| {
            let text = std::fs::read_to_string(tmp).unwrap();
            if text == "bad" {
                Err("not a table".to_owned())
            } else {
                Ok(())
            }
        };
        let error = write_checked(&path, "bad", refuse).unwrap_err();
        assert!(error.to_string().contains("not a table"), "{error}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "good");
        assert!(!dir.join("prices.toml.tmp").exists());
        write_checked(&path, "better", refuse).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "better");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
