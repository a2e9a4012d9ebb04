//! Random identifiers from the OS generator.

/// `N` random bytes. The OS generator failing is unrecoverable for an id, so it is an error.
pub fn bytes<const N: usize>() -> Result<[u8; N], std::io::Error> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(out)
}

pub fn u64() -> Result<u64, std::io::Error> {
    bytes::<8>().map(u64::from_le_bytes)
}
