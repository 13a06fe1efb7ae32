//! Torn-line repair: a process killed in the middle of a write leaves the current file ending
//! in part of a line. Cutting that part off before appending again keeps every line whole, so
//! readers never meet a line glued to the half of another.

use std::{fs::File, io, os::unix::fs::FileExt as _};

/// How much of the file is read at a time while looking for the last newline.
const CHUNK: u64 = 64 * 1024;

/// Truncates `file` after its last newline; returns how many bytes were cut (0 when the file
/// is empty or already ends with a newline).
pub fn cut_torn_tail(file: &File) -> io::Result<u64> {
    let len = file.metadata()?.len();
    let keep = complete_len(file, len)?;
    if keep < len {
        file.set_len(keep)?;
    }
    Ok(len - keep)
}

/// The length of the file's complete lines: up to and including its last newline.
fn complete_len(file: &File, len: u64) -> io::Result<u64> {
    let mut end = len;
    let mut buf = vec![0u8; CHUNK as usize];
    while end > 0 {
        let start = end.saturating_sub(CHUNK);
        let chunk = &mut buf[..(end - start) as usize];
        file.read_exact_at(chunk, start)?;
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use std::{fs, fs::OpenOptions};

    use super::*;

    fn cut(content: &[u8]) -> (u64, Vec<u8>) {
        let dir = std::env::temp_dir().join(format!("dualstack-repair-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("f{}", content.len()));
        fs::write(&path, content).unwrap();
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&path)
            .unwrap();
        let cut = cut_torn_tail(&file).unwrap();
        let left = fs::read(&path).unwrap();
        let _ = fs::remove_file(&path);
        (cut, left)
    }

    #[test]
    fn keeps_whole_lines_and_cuts_the_rest() {
        assert_eq!(cut(b""), (0, b"".to_vec()));
        assert_eq!(cut(b"{}\n"), (0, b"{}\n".to_vec()));
        assert_eq!(cut(b"{}\n{\"a\":"), (5, b"{}\n".to_vec()));
        assert_eq!(cut(b"no newline at all"), (17, b"".to_vec()));
        // A torn line longer than one read chunk.
        let mut long = b"{}\n".to_vec();
        long.extend(std::iter::repeat_n(b'x', 3 * CHUNK as usize + 7));
        assert_eq!(cut(&long), (3 * CHUNK + 7, b"{}\n".to_vec()));
    }
}
