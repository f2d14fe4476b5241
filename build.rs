//! Compiles `proto/remote.proto` (Prometheus remote-write 1.0) with
//! `protox` + `prost-build`, so no `protoc` is needed on any machine.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/remote.proto");
    let descriptors = protox::compile(["proto/remote.proto"], ["proto"])?;
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}
