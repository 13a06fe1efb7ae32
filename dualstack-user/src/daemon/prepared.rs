//! An event ready for fan-out: serialised at most once per format, whoever asks first, and
//! shared by every client queue and the event log as cheap `Bytes` clones.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;

use crate::{
    clock::Clock,
    daemon::protocol::WireFormat,
    enrich::Notes,
    format::{
        json,
        strace::{self, Leader, Resolve},
    },
    holder::Holder,
    model::Event,
};

/// What formatting needs beyond the event: the clock and the host's `net.ipv6.bindv6only`.
#[derive(Clone, Copy, Debug)]
pub struct FormatContext {
    pub clock: Clock,
    pub host_bindv6only: Option<bool>,
}

/// One decoded event and its lines, computed lazily.
#[derive(Debug)]
pub struct Prepared {
    pub event: Event,
    /// For a bind refused with EADDRINUSE: who holds the port, looked up when it was read.
    holder: Option<Holder>,
    context: FormatContext,
    json: OnceLock<Bytes>,
    strace: OnceLock<Bytes>,
}

impl Prepared {
    pub fn new(event: Event, holder: Option<Holder>, context: FormatContext) -> Arc<Prepared> {
        Arc::new(Prepared {
            event,
            holder,
            context,
            json: OnceLock::new(),
            strace: OnceLock::new(),
        })
    }

    /// The line of this event in `format`.
    pub fn line(&self, format: WireFormat) -> &Bytes {
        match format {
            WireFormat::Json => self.json(),
            WireFormat::Strace => self.strace(),
        }
    }

    /// The JSON record, exactly as `trace -f json` writes it.
    pub fn json(&self) -> &Bytes {
        self.json.get_or_init(|| {
            let mut text = String::with_capacity(160);
            strace::write_line(&mut text, &self.event, Leader::None, None, &resolve());
            let mut notes = Notes::of(&self.event, self.context.host_bindv6only);
            notes.holder.clone_from(&self.holder);
            let mut out = Vec::with_capacity(1024);
            json::write_event(&mut out, &self.event, &notes, &self.context.clock, &text);
            Bytes::from(out)
        })
    }

    /// The strace line with strace -f's `[pid N] ` leader (and its alignment).
    pub fn strace(&self) -> &Bytes {
        self.strace.get_or_init(|| {
            let mut text = String::with_capacity(176);
            strace::write_line(&mut text, &self.event, Leader::Bracket, None, &resolve());
            Bytes::from(text.into_bytes())
        })
    }
}

fn resolve() -> Resolve<'static> {
    Resolve {
        ifname: &crate::cli::trace::ifname,
    }
}
