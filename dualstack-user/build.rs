//! Builds the kernel programs (dualstack-ebpf) for bpfel-unknown-none with the nightly toolchain
//! and bpf-linker, and leaves the object in OUT_DIR for `include_bytes_aligned!`.
//! `cargo xtask setup` installs what this needs.

fn main() -> anyhow::Result<()> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../dualstack-ebpf");
    aya_build::build_ebpf(
        [aya_build::Package {
            name: "dualstack-ebpf",
            root_dir: root,
            ..Default::default()
        }],
        aya_build::Toolchain::default(),
    )
}
