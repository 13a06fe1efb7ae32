//! One event with everything dualstack adds to it, and its renderings: the strace line (with
//! or without the verdict after ` # `), the JSON line, the table row. Every output takes this.

use std::{
    borrow::Cow,
    net::IpAddr,
    sync::{Arc, OnceLock},
};

use bytes::Bytes;

use crate::{
    clock::Clock,
    filter::Facts,
    format::{
        names,
        quote::printable,
        strace::{self, Leader, Resolve},
        table,
    },
    model::{Call, Event, KernelSocket, KernelView, Peer, Return, SocketInfo},
    pipeline::{
        holder::{Holder, Lookup},
        notes::Notes,
    },
    schema::{EventLine, HolderLine, KernelLine, SocketLine, VerdictLine},
    sockaddr::SockAddr,
    verdict::Verdict,
};

/// An event as every output sees it.
#[derive(Debug)]
pub struct Record {
    pub event: Event,
    /// The process's parent, or nearest live ancestor (see [`super::process_tree`]).
    pub ppid: Option<u32>,
    /// Every known ancestor, nearest first, when the pipeline was asked to keep them (a
    /// daemon's clients filter by process tree).
    pub ancestors: Vec<u32>,
    pub notes: Notes,
    /// For a bind refused with EADDRINUSE: who holds the port, found or being found.
    holder: Option<Arc<Lookup>>,
    clock: Clock,
    json: OnceLock<Bytes>,
    strace: OnceLock<Bytes>,
}

impl Record {
    pub(super) fn new(
        event: Event,
        ppid: Option<u32>,
        ancestors: Vec<u32>,
        notes: Notes,
        holder: Option<Arc<Lookup>>,
        clock: Clock,
    ) -> Record {
        Record {
            event,
            ppid,
            ancestors,
            notes,
            holder,
            clock,
            json: OnceLock::new(),
            strace: OnceLock::new(),
        }
    }

    /// The record with its port holder given (replays and tests, which look nothing up).
    #[must_use]
    pub fn with_holder(mut self, holder: Option<Holder>) -> Record {
        self.holder = holder.map(|h| Arc::new(Lookup::answered(Some(h))));
        self
    }

    /// What a filter looks at.
    pub fn facts(&self) -> Facts<'_> {
        facts(&self.event, &self.ancestors)
    }

    /// Is everything known, so that rendering will not wait for the holder's lookup?
    pub fn is_settled(&self) -> bool {
        self.holder.as_ref().is_none_or(|h| h.is_done())
    }

    /// Returns once everything is known, without blocking the thread.
    pub async fn settled(&self) {
        if let Some(holder) = &self.holder {
            holder.settled().await;
        }
    }

    /// The holder of the port a bind was refused for; blocks until its lookup is done.
    pub fn holder(&self) -> Option<Holder> {
        self.holder.as_ref().and_then(|h| h.wait())
    }

    /// Appends the strace line (with its newline).
    pub fn write_strace(&self, out: &mut String, leader: Leader, time: Option<&str>) {
        strace::write_line(out, &self.event, leader, time, &resolve());
    }

    /// Appends the strace line followed by what dualstack knows beyond strace, after ` # `:
    /// the verdict of a listener, or the holder of the port a bind was refused for.
    pub fn write_annotated(&self, out: &mut String, leader: Leader, time: Option<&str>) {
        self.write_strace(out, leader, time);
        let note = if let Some(verdict) = &self.notes.verdict {
            let uncertain = if verdict.certain { "" } else { " (uncertain)" };
            format!("{}{uncertain}", verdict.reason)
        } else if let (Some(holder), Some(port)) = (
            self.holder(),
            self.event.address().as_ref().and_then(SockAddr::port),
        ) {
            holder.sentence(port)
        } else {
            return;
        };
        let newline = out.ends_with('\n');
        if newline {
            out.pop();
        }
        out.push_str(" # ");
        out.push_str(&printable(&note));
        if newline {
            out.push('\n');
        }
    }

    /// Appends the JSON line (with its newline).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let (texts, time_at) = self.line_texts();
        let (strace, time) = texts.split_at(time_at);
        let holder = self.holder();
        crate::schema::write_event(out, &self.line(strace, time, holder.as_ref()));
    }

    /// The table row of `stream -f table`.
    pub fn table_row(&self) -> String {
        let (texts, time_at) = self.line_texts();
        let (strace, time) = texts.split_at(time_at);
        let holder = self.holder();
        table::row(&self.line(strace, time, holder.as_ref()))
    }

    /// The strace line (no leader) and the RFC 3339 time that [`Record::line`] takes, in one
    /// buffer (an allocation less per record): the buffer, and where the time starts.
    pub fn line_texts(&self) -> (String, usize) {
        let mut texts = String::with_capacity(256);
        self.write_strace(&mut texts, Leader::None, None);
        let time_at = texts.len();
        self.clock.write_rfc3339(&mut texts, self.event.monotonic);
        (texts, time_at)
    }

    /// The JSON line, made once and shared (the daemon's clients and its log).
    pub fn json_bytes(&self) -> &Bytes {
        self.json.get_or_init(|| {
            let mut out = Vec::with_capacity(1024);
            self.write_json(&mut out);
            Bytes::from(out)
        })
    }

    /// The strace line with strace -f's `[pid N] ` leader, made once and shared.
    pub fn strace_bytes(&self) -> &Bytes {
        self.strace.get_or_init(|| {
            let mut text = String::with_capacity(176);
            self.write_strace(&mut text, Leader::Bracket, None);
            Bytes::from(text.into_bytes())
        })
    }

    /// The event in the schema's terms; `strace_text` is its strace line, `time` its time
    /// (both from [`Record::line_texts`]).
    pub fn line<'a>(
        &'a self,
        strace_text: &'a str,
        time: &'a str,
        holder: Option<&'a Holder>,
    ) -> EventLine<'a> {
        let event = &self.event;
        let (ret, errno, error) = match event.ret {
            Return::Value(v) => (v, None, None),
            Return::Error(e) => (-1, e.name(), e.message()),
        };
        let (address, port) = shown_address(event);
        EventLine {
            time: Cow::Borrowed(time),
            pid: event.pid,
            ppid: self.ppid,
            tid: event.tid,
            comm: Cow::Borrowed(&event.comm),
            syscall: event.syscall(),
            fd: event.fd(),
            ret,
            errno: errno.map(Cow::Borrowed),
            error: error.map(Cow::Borrowed),
            family: event.family().map(family_name),
            address,
            port,
            peer: event.peer().as_ref().map(|p| Cow::Borrowed(Peer::name(p))),
            v6only: self.notes.v6only.map(|(v, _)| v),
            v6only_source: self
                .notes
                .v6only
                .map(|(_, origin)| Cow::Borrowed(origin.name())),
            kernel_status: Cow::Borrowed(match &event.kernel {
                KernelView::Read(_) => "read",
                KernelView::NotRead => "not-read",
                KernelView::NoBtf => "no-btf",
            }),
            kernel: event.kernel.socket().map(kernel_line),
            verdict: self.notes.verdict.as_ref().map(verdict_line),
            holder: holder.map(holder_line),
            socket: event.socket.as_ref().map(socket_line),
            tracking: Cow::Borrowed(event.tracking.name()),
            strace: Cow::Borrowed(strace_text.trim_end()),
        }
    }
}

/// What a filter looks at in `event`, whose process has `ancestors`.
pub fn facts<'a>(event: &'a Event, ancestors: &'a [u32]) -> Facts<'a> {
    let mut ports = [None; 3];
    for (slot, port) in ports.iter_mut().zip(event.ports()) {
        *slot = Some(port);
    }
    Facts {
        pid: event.pid,
        ancestors,
        comm: &event.comm,
        syscall: event.syscall(),
        failed: event.ret.is_error(),
        family: event.family(),
        ports,
    }
}

fn resolve() -> Resolve<'static> {
    Resolve {
        ifname: &crate::host::ifname,
    }
}

/// An address as JSON shows it; the wildcards, most listeners' address, without an allocation.
fn ip_text(ip: IpAddr) -> Cow<'static, str> {
    match ip {
        IpAddr::V6(v6) if v6.is_unspecified() => Cow::Borrowed("::"),
        IpAddr::V4(v4) if v4.is_unspecified() => Cow::Borrowed("0.0.0.0"),
        ip => Cow::Owned(ip.to_string()),
    }
}

fn sockaddr_ip(addr: &SockAddr) -> Option<Cow<'static, str>> {
    match addr {
        SockAddr::Inet(a) => Some(ip_text(IpAddr::V4(*a.ip()))),
        SockAddr::Inet6 { addr, .. } => Some(ip_text(IpAddr::V6(*addr.ip()))),
        _ => None,
    }
}

/// The address a JSON record shows: the one the call carried, else the kernel's bound address,
/// else the socket's last bind; an accept's is its peer's or nothing, never the listener's.
fn shown_address(event: &Event) -> (Option<Cow<'static, str>>, Option<u16>) {
    let as_pair = |a: &SockAddr| (sockaddr_ip(a), a.port());
    let carried = event
        .address()
        .filter(|a| a.port().is_some())
        .map(|a| as_pair(&a));
    if let Call::Accept { .. } = event.call {
        return carried.unwrap_or((None, None));
    }
    let kernel_bound = || {
        event
            .kernel
            .socket()
            .and_then(|k| k.local)
            .filter(|a| a.port() != 0)
            .map(|a| (Some(ip_text(a.ip())), Some(a.port())))
    };
    let last_bind = || {
        event
            .socket
            .as_ref()
            .and_then(|s| s.bound.as_ref())
            .map(as_pair)
    };
    carried
        .or_else(kernel_bound)
        .or_else(last_bind)
        .unwrap_or((None, None))
}

/// "AF_INET6", or strace's `0x2e /* AF_??? */` for a family it has no name for.
fn family_name(family: u16) -> Cow<'static, str> {
    match names::address_family(family) {
        Some(name) => Cow::Borrowed(name),
        None => Cow::Owned(names::address_family_str(u32::from(family))),
    }
}

fn holder_line(h: &Holder) -> HolderLine<'_> {
    HolderLine {
        pid: h.pid,
        comm: h.comm.as_deref().map(Cow::Borrowed),
        fd: h.fd,
        family: family_name(h.family),
        address: ip_text(h.local.ip()),
        port: h.local.port(),
        state: Cow::Borrowed(h.state),
        v6only: h.v6only,
        accepts: Cow::Borrowed(h.verdict.label()),
        reason: Cow::Borrowed(&h.verdict.reason),
    }
}

fn kernel_line(k: &KernelSocket) -> KernelLine<'static> {
    KernelLine {
        netns: k.netns,
        inode: k.inode,
        family: family_name(k.family),
        sock_type: names::socket_type_cow(u32::from(k.sock_type)),
        state: k.state,
        v6only: k.v6only,
        netns_bindv6only: k.netns_bindv6only,
        address: k.local.map(|a| ip_text(a.ip())),
        port: k.local.map(|a| a.port()),
    }
}

fn verdict_line(v: &Verdict) -> VerdictLine<'_> {
    VerdictLine {
        ipv4: v.ipv4,
        ipv6: v.ipv6,
        accepts: Cow::Borrowed(v.label()),
        certain: v.certain,
        reason: Cow::Borrowed(&v.reason),
    }
}

fn socket_line(s: &SocketInfo) -> SocketLine<'_> {
    SocketLine {
        sock_type: s.sock_type.map(names::socket_type_cow),
        protocol: s.protocol,
        reuseaddr: s.reuseaddr,
        reuseport: s.reuseport,
        freebind: s.freebind,
        transparent: s.transparent,
        bind_device: s.bind_device.as_deref().map(Cow::Borrowed),
        bound_address: s.bound.as_ref().and_then(sockaddr_ip),
        bound_port: s.bound.as_ref().and_then(SockAddr::port),
    }
}

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;
