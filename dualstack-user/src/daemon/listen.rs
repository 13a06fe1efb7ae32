//! The daemon's listening sockets: the Unix socket (permissions, group, stale files) and the
//! optional TCP listener, and their accept loops.

use std::{
    ffi::CString,
    fs, io,
    net::SocketAddr,
    os::unix::{
        ffi::OsStrExt as _, fs::DirBuilderExt as _, fs::FileTypeExt as _, fs::MetadataExt as _,
        fs::PermissionsExt as _,
    },
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use log::{debug, info, warn};
use tokio::{
    net::{TcpListener, UnixListener},
    sync::mpsc,
};

use crate::daemon::{
    client::{serve_tcp, serve_unix, ClientContext},
    config::Group,
    Error,
};

/// The socket file, removed on drop if it is still the one this daemon created.
#[derive(Debug)]
pub struct SocketFile {
    path: PathBuf,
    identity: (u64, u64),
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        let ours = fs::symlink_metadata(&self.path)
            .is_ok_and(|m| m.file_type().is_socket() && (m.dev(), m.ino()) == self.identity);
        if ours {
            if let Err(err) = fs::remove_file(&self.path) {
                warn!("cannot remove {}: {err}", self.path.display());
            }
        }
    }
}

/// Creates the Unix socket at `path`: mode 0600, or 0660 with `group`. A socket file left by a
/// daemon that died is replaced; one a live daemon serves is not.
pub fn bind_unix(path: &Path, group: Option<&Group>) -> Result<(UnixListener, SocketFile), Error> {
    let fail = |what, source| Error::Path {
        what,
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(dir)
            .map_err(|e| fail("cannot create the directory of", e))?;
    }
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(Error::SocketInUse(path.to_owned()));
            }
            debug!("removing the stale socket {}", path.display());
            fs::remove_file(path).map_err(|e| fail("cannot remove the stale socket", e))?;
        }
        Ok(_) => {
            return Err(crate::daemon::config::ConfigError::NotASocket(path.to_owned()).into())
        }
        Err(_) => {}
    }
    // The socket is created with the umask's mode: make it private from its first moment, not
    // only after the chmod below. Nothing else runs yet that could create files meanwhile.
    // SAFETY: umask has no preconditions.
    let old = unsafe { libc::umask(0o177) };
    let bound = UnixListener::bind(path);
    // SAFETY: as above.
    unsafe { libc::umask(old) };
    let listener = bound.map_err(|e| fail("cannot create the socket", e))?;
    let meta = fs::symlink_metadata(path).map_err(|e| fail("cannot stat the socket", e))?;
    let file = SocketFile {
        path: path.to_owned(),
        identity: (meta.dev(), meta.ino()),
    };
    let mode = if let Some(group) = group {
        chown_group(path, group.gid).map_err(|e| fail("cannot give the group to", e))?;
        0o660
    } else {
        0o600
    };
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| fail("cannot set the mode of", e))?;
    Ok((listener, file))
}

fn chown_group(path: &Path, gid: u32) -> io::Result<()> {
    let c = CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: a valid path; uid -1 leaves the owner unchanged.
    if unsafe { libc::chown(c.as_ptr(), u32::MAX, gid) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

pub async fn bind_tcp(addr: SocketAddr, what: &'static str) -> Result<TcpListener, Error> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Listen {
            what,
            addr: addr.to_string(),
            source,
        })
}

/// Accepts Unix clients until the task is dropped. It also ends the refusals' log intervals
/// (of TCP connections too: the Unix listener is always there).
pub async fn accept_unix(listener: UnixListener, ctx: Arc<ClientContext>, alive: mpsc::Sender<()>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = tick.tick() => {
                ctx.refusals.flush();
                continue;
            }
        };
        match accepted {
            Ok((stream, _)) => {
                let peer = match stream.peer_cred() {
                    Ok(c) => format!(
                        "pid={} uid={} gid={}",
                        c.pid().map_or_else(|| "?".to_owned(), |p| p.to_string()),
                        c.uid(),
                        c.gid()
                    ),
                    Err(err) => format!("credentials unknown: {err}"),
                };
                tokio::spawn(serve_unix(stream, peer, Arc::clone(&ctx), alive.clone()));
            }
            Err(err) => backoff("Unix socket", &err).await,
        }
    }
}

/// Accepts TCP clients until the task is dropped.
pub async fn accept_tcp(listener: TcpListener, ctx: Arc<ClientContext>, alive: mpsc::Sender<()>) {
    if let Ok(addr) = listener.local_addr() {
        info!("serving TCP clients on {addr}");
    }
    loop {
        match listener.accept().await {
            Ok((stream, addr)) => {
                tokio::spawn(serve_tcp(stream, addr, Arc::clone(&ctx), alive.clone()));
            }
            Err(err) => backoff("TCP listener", &err).await,
        }
    }
}

/// After a failed accept (out of descriptors, most likely), let some close before retrying.
async fn backoff(what: &str, err: &io::Error) {
    warn!("{what}: accept failed: {err}");
    tokio::time::sleep(Duration::from_millis(100)).await;
}
