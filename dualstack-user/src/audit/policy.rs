//! The policy file: TOML, a list of `[[rule]]` tables. Unknown keys are refused everywhere (a
//! typo must not silently drop a check), and every error names the file's line.
//!
//! ```toml
//! [[rule]]
//! name = "ssh-both"        # required, unique: violations name their rule
//! port = 22                # selectors, all optional: host (glob), port, comm, netns, protocol
//! require = "ipv4+ipv6"    # exactly one check: require, forbid or allow_ports
//! ```

use std::{fmt, ops::Range, path::Path};

use serde::Deserialize;
use toml::Spanned;

use crate::schema::{AcceptsLine, HostSnapshot, ListenerLine};

/// A policy: its rules, in the file's order (the order of a row's violations).
#[derive(Clone, Debug, Default)]
pub struct Policy {
    pub rules: Vec<Rule>,
}

#[derive(Clone, Debug)]
pub struct Rule {
    pub name: String,
    /// The line of its `[[rule]]` header.
    pub line: usize,
    pub select: Selector,
    pub check: Check,
}

/// Which listeners a rule speaks of: those matching every selector given.
#[derive(Clone, Debug, Default)]
pub struct Selector {
    /// The snapshot's host id, as a shell glob: `*`, `?`, `[a-z]` (case-sensitive).
    pub host: Option<glob::Pattern>,
    pub port: Option<u16>,
    /// One of the processes holding the socket has this comm (the kernel keeps 15 bytes).
    pub comm: Option<String>,
    /// The netns's /run/netns name or its inode in decimal, or the netns the host's daemon
    /// was scoped to.
    pub netns: Option<String>,
    pub protocol: Option<Protocol>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

/// What a rule demands of the listeners it selects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Check {
    /// What a port accepts, its sockets counted together, must be exactly this.
    Require(Families),
    Forbid(Forbidden),
    /// Every selected listener's port must be one of these.
    AllowPorts(Vec<u16>),
}

/// The families a port accepts: `"ipv4"`, `"ipv6"` or `"ipv4+ipv6"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum Families {
    #[serde(rename = "ipv4")]
    Ipv4,
    #[serde(rename = "ipv6")]
    Ipv6,
    #[serde(rename = "ipv4+ipv6")]
    Both,
}

impl Families {
    pub fn accepts(self) -> AcceptsLine {
        AcceptsLine {
            ipv4: self != Families::Ipv6,
            ipv6: self != Families::Ipv4,
        }
    }
}

/// What a `forbid` check refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum Forbidden {
    /// One socket accepting both IPv4 and IPv6 (an AF_INET6 socket without IPV6_V6ONLY).
    #[serde(rename = "dual-stack")]
    DualStack,
    /// A bind to 0.0.0.0 or :: (every address of the host).
    #[serde(rename = "wildcard")]
    Wildcard,
}

/// A policy that cannot be used, and where: `policy.toml:7: unknown field ...`.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("{file}: cannot read the policy: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}{}: {message}", Line(*line))]
    Invalid {
        file: String,
        /// 1-based; none when the TOML parser could not say where.
        line: Option<usize>,
        message: String,
    },
}

/// `:N`, or nothing.
struct Line(Option<usize>);

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(line) => write!(f, ":{line}"),
            None => Ok(()),
        }
    }
}

/// The file as written; checked and compiled into a [`Policy`] by [`Policy::parse`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    rule: Vec<Spanned<RuleFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    name: Spanned<String>,
    host: Option<Spanned<String>>,
    port: Option<u16>,
    comm: Option<String>,
    netns: Option<String>,
    protocol: Option<Protocol>,
    require: Option<Families>,
    forbid: Option<Forbidden>,
    allow_ports: Option<Vec<u16>>,
}

impl Policy {
    /// Reads and parses the policy file at `path`.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            file: file.clone(),
            source,
        })?;
        Policy::parse(&text, &file)
    }

    /// Parses a policy; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Policy, PolicyError> {
        let invalid = |span: Option<Range<usize>>, message: String| PolicyError::Invalid {
            file: file.to_owned(),
            line: span.map(|span| line_of(text, span.start)),
            message,
        };
        let parsed: PolicyFile =
            toml::from_str(text).map_err(|err| invalid(err.span(), err.message().to_owned()))?;
        let mut rules: Vec<Rule> = Vec::with_capacity(parsed.rule.len());
        for spanned in parsed.rule {
            let span = spanned.span();
            let raw = spanned.into_inner();
            let name = raw.name.get_ref().clone();
            if name.trim().is_empty() {
                return Err(invalid(
                    Some(raw.name.span()),
                    "a rule's name is empty".into(),
                ));
            }
            if let Some(first) = rules.iter().find(|r| r.name == name) {
                return Err(invalid(
                    Some(raw.name.span()),
                    format!(
                        "rule {name:?} is named twice (first at line {}): violations name \
                         their rule",
                        first.line
                    ),
                ));
            }
            let check = match (raw.require, raw.forbid, raw.allow_ports) {
                (Some(families), None, None) => Check::Require(families),
                (None, Some(forbidden), None) => Check::Forbid(forbidden),
                (None, None, Some(ports)) => Check::AllowPorts(ports),
                (None, None, None) => {
                    return Err(invalid(
                        Some(span),
                        format!(
                            "rule {name:?} has no check: give one of require, forbid or \
                             allow_ports"
                        ),
                    ))
                }
                _ => {
                    return Err(invalid(
                        Some(span),
                        format!(
                            "rule {name:?} has more than one check: give only one of \
                             require, forbid or allow_ports (write two rules for two checks)"
                        ),
                    ))
                }
            };
            if raw.port.is_some() && matches!(check, Check::AllowPorts(_)) {
                return Err(invalid(
                    Some(span),
                    format!(
                        "rule {name:?} has both port and allow_ports: allow_ports judges \
                         every port of the hosts it selects"
                    ),
                ));
            }
            let host = match raw.host {
                None => None,
                Some(glob) => Some(glob::Pattern::new(glob.get_ref()).map_err(|err| {
                    invalid(
                        Some(glob.span()),
                        format!("bad host glob {:?}: {}", glob.get_ref(), err.msg),
                    )
                })?),
            };
            rules.push(Rule {
                name,
                line: line_of(text, span.start),
                select: Selector {
                    host,
                    port: raw.port,
                    comm: raw.comm,
                    netns: raw.netns,
                    protocol: raw.protocol,
                },
                check,
            });
        }
        Ok(Policy { rules })
    }
}

/// The 1-based line of byte `offset`.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    // n newlines before the offset: n + 1 pieces.
    text.as_bytes()[..end].split(|&b| b == b'\n').count()
}

impl Selector {
    /// Whether `listener`, of `snapshot`, is one this selector speaks of.
    pub fn matches(&self, snapshot: &HostSnapshot<'_>, listener: &ListenerLine<'_>) -> bool {
        self.host
            .as_ref()
            .is_none_or(|glob| glob.matches(&snapshot.host))
            && self.port.is_none_or(|port| listener.port == port)
            && self.protocol.is_none_or(|p| listener.protocol == p.name())
            && self.comm.as_ref().is_none_or(|comm| {
                listener
                    .owners
                    .iter()
                    .any(|owner| owner.comm == comm.as_str())
            })
            && self.netns.as_ref().is_none_or(|netns| {
                listener.netns_name.as_deref() == Some(netns.as_str())
                    || netns.parse::<u64>() == Ok(listener.netns)
                    || snapshot.netns.as_deref() == Some(netns.as_str())
            })
    }
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}
