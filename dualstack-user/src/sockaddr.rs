//! Socket addresses decoded from the raw bytes a program passed to the kernel.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

// kernel ABI: include/linux/socket.h.
pub const AF_UNSPEC: u16 = 0;
pub const AF_UNIX: u16 = 1;
pub const AF_INET: u16 = 2;
pub const AF_INET6: u16 = 10;
pub const AF_NETLINK: u16 = 16;
pub const AF_PACKET: u16 = 17;

/// Sizes of the family structs (and the shortest length each family is decoded from).
const SOCKADDR_IN: usize = 16;
const SOCKADDR_IN6_NO_SCOPE: usize = 24;
const SOCKADDR_IN6: usize = 28;
const SOCKADDR_NL: usize = 12;
const SOCKADDR_LL: usize = 20;
const SUN_PATH_OFFSET: usize = 2;
/// sizeof(sun_path): the kernel refuses longer addresses, and strace never shows more.
const SUN_PATH_LEN: usize = 108;

/// A decoded sockaddr. Bytes that do not form a valid address of their family stay raw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SockAddr {
    Inet(SocketAddrV4),
    /// `scope_present` is false when the length stopped before sin6_scope_id.
    Inet6 {
        addr: SocketAddrV6,
        scope_present: bool,
    },
    Unix(UnixAddr),
    /// `pad` is nl_pad, which programs may leave uninitialised.
    Netlink {
        pad: u16,
        pid: u32,
        groups: u32,
    },
    Packet(PacketAddr),
    /// A family not decoded here, or too short for its family: the bytes after sa_family.
    Raw {
        family: u16,
        data: Vec<u8>,
    },
    /// Not even a full sa_family.
    Short(Vec<u8>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnixAddr {
    /// Only sa_family: an unnamed socket.
    Unnamed,
    /// A filesystem path (bytes up to the first NUL, at most 108).
    Path(Vec<u8>),
    /// An abstract name: the bytes after the leading NUL (at most 107).
    Abstract(Vec<u8>),
}

/// struct sockaddr_ll.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketAddr {
    /// Network order, as in the struct.
    pub protocol: u16,
    pub ifindex: i32,
    pub hatype: u16,
    pub pkttype: u8,
    pub halen: u8,
    pub addr: [u8; 8],
}

fn u16_ne(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

fn u32_ne(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl SockAddr {
    /// Decodes the bytes of a sockaddr of any length. Never fails: what cannot be decoded is kept.
    pub fn parse(bytes: &[u8]) -> SockAddr {
        if bytes.len() < 2 {
            return SockAddr::Short(bytes.to_vec());
        }
        let family = u16_ne(bytes, 0);
        let raw = || SockAddr::Raw {
            family,
            data: bytes[2..].to_vec(),
        };
        match family {
            AF_INET if bytes.len() >= SOCKADDR_IN => {
                let port = u16::from_be_bytes([bytes[2], bytes[3]]);
                let ip = Ipv4Addr::new(bytes[4], bytes[5], bytes[6], bytes[7]);
                SockAddr::Inet(SocketAddrV4::new(ip, port))
            }
            AF_INET6 if bytes.len() >= SOCKADDR_IN6_NO_SCOPE => {
                let port = u16::from_be_bytes([bytes[2], bytes[3]]);
                let flowinfo = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
                let mut ip = [0u8; 16];
                ip.copy_from_slice(&bytes[8..24]);
                let scope_present = bytes.len() >= SOCKADDR_IN6;
                let scope = if scope_present { u32_ne(bytes, 24) } else { 0 };
                let addr = SocketAddrV6::new(Ipv6Addr::from(ip), port, flowinfo, scope);
                SockAddr::Inet6 {
                    addr,
                    scope_present,
                }
            }
            AF_UNIX => SockAddr::Unix(UnixAddr::parse(&bytes[SUN_PATH_OFFSET..])),
            AF_NETLINK if bytes.len() >= SOCKADDR_NL => SockAddr::Netlink {
                pad: u16_ne(bytes, 2),
                pid: u32_ne(bytes, 4),
                groups: u32_ne(bytes, 8),
            },
            AF_PACKET if bytes.len() >= SOCKADDR_LL => {
                let mut addr = [0u8; 8];
                addr.copy_from_slice(&bytes[12..20]);
                SockAddr::Packet(PacketAddr {
                    protocol: u16_ne(bytes, 2),
                    ifindex: u32_ne(bytes, 4) as i32,
                    hatype: u16_ne(bytes, 8),
                    pkttype: bytes[10],
                    halen: bytes[11],
                    addr,
                })
            }
            _ => raw(),
        }
    }

    pub fn family(&self) -> u16 {
        match self {
            SockAddr::Inet(_) => AF_INET,
            SockAddr::Inet6 { .. } => AF_INET6,
            SockAddr::Unix(_) => AF_UNIX,
            SockAddr::Netlink { .. } => AF_NETLINK,
            SockAddr::Packet(_) => AF_PACKET,
            SockAddr::Raw { family, .. } => *family,
            SockAddr::Short(_) => AF_UNSPEC,
        }
    }

    /// The port of an IPv4 or IPv6 address.
    pub fn port(&self) -> Option<u16> {
        match self {
            SockAddr::Inet(a) => Some(a.port()),
            SockAddr::Inet6 { addr, .. } => Some(addr.port()),
            _ => None,
        }
    }

    /// The IP address of an IPv4 or IPv6 address, as text (`0.0.0.0`, `::`).
    pub fn ip_text(&self) -> Option<String> {
        match self {
            SockAddr::Inet(a) => Some(a.ip().to_string()),
            SockAddr::Inet6 { addr, .. } => Some(addr.ip().to_string()),
            _ => None,
        }
    }
}

impl UnixAddr {
    /// `path` is what follows sa_family; bytes past sun_path's 108 are not part of it.
    fn parse(path: &[u8]) -> UnixAddr {
        let path = &path[..path.len().min(SUN_PATH_LEN)];
        match path.first() {
            None => UnixAddr::Unnamed,
            Some(0) => UnixAddr::Abstract(path[1..].to_vec()),
            Some(_) => {
                let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
                UnixAddr::Path(path[..end].to_vec())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inet6(ip: &str, port: u16) -> Vec<u8> {
        let mut b = vec![0u8; 28];
        b[..2].copy_from_slice(&AF_INET6.to_ne_bytes());
        b[2..4].copy_from_slice(&port.to_be_bytes());
        b[8..24].copy_from_slice(&ip.parse::<Ipv6Addr>().unwrap().octets());
        b
    }

    #[test]
    fn decodes_inet6_any_with_port() {
        let SockAddr::Inet6 {
            addr,
            scope_present,
        } = SockAddr::parse(&inet6("::", 1521))
        else {
            panic!("not inet6")
        };
        assert_eq!(addr.port(), 1521);
        assert!(addr.ip().is_unspecified());
        assert!(scope_present);
    }

    #[test]
    fn short_family_buffers_stay_raw() {
        assert_eq!(SockAddr::parse(&[]), SockAddr::Short(vec![]));
        assert_eq!(SockAddr::parse(&[2]), SockAddr::Short(vec![2]));
        let short_inet = [2u8, 0, 0x1f, 0x90];
        assert_eq!(
            SockAddr::parse(&short_inet),
            SockAddr::Raw {
                family: 2,
                data: vec![0x1f, 0x90]
            }
        );
    }

    #[test]
    fn unix_variants() {
        assert_eq!(SockAddr::parse(&[1, 0]), SockAddr::Unix(UnixAddr::Unnamed));
        assert_eq!(
            SockAddr::parse(&[1, 0, 0, b'a']),
            SockAddr::Unix(UnixAddr::Abstract(vec![b'a']))
        );
        assert_eq!(
            SockAddr::parse(&[1, 0, b'/', b'x', 0, 9]),
            SockAddr::Unix(UnixAddr::Path(b"/x".to_vec()))
        );
    }

    #[test]
    fn unix_names_stop_at_sun_path_end() {
        let mut long = vec![1u8, 0];
        long.extend(std::iter::repeat_n(b'p', 200));
        assert_eq!(
            SockAddr::parse(&long),
            SockAddr::Unix(UnixAddr::Path(vec![b'p'; 108]))
        );
        long[2] = 0;
        assert_eq!(
            SockAddr::parse(&long),
            SockAddr::Unix(UnixAddr::Abstract(vec![b'p'; 107]))
        );
    }
}
