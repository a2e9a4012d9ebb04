//! Content-defined chunking of file content (FastCDC), streaming so big files never sit in memory.

use std::io::Read;

use super::ChunkerParams;

/// Splits `reader` into chunks, calling `each` with every chunk in order.
pub fn for_each_chunk<R: Read>(
    reader: R,
    params: &ChunkerParams,
    mut each: impl FnMut(Vec<u8>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let chunker = fastcdc::v2020::StreamCDC::new(
        reader,
        params.min as usize,
        params.avg as usize,
        params.max as usize,
    );
    for chunk in chunker {
        let chunk = chunk.map_err(|e| match e {
            fastcdc::v2020::Error::IoError(io) => io,
            other => std::io::Error::other(other.to_string()),
        })?;
        each(chunk.data)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::RepoConfig;

    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    fn chunks(data: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for_each_chunk(data, &RepoConfig::default().chunker, |c| {
            out.push(c);
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn an_edit_in_the_middle_changes_few_chunks() {
        let mut data = noise(24 << 20, 7);
        let before = chunks(&data);
        assert_eq!(before.concat(), data);
        let mid = data.len() / 2;
        data[mid..mid + 4096].copy_from_slice(&noise(4096, 99));
        let after = chunks(&data);
        assert_eq!(after.concat(), data);
        let old: std::collections::HashSet<_> = before.iter().collect();
        let changed: usize = after
            .iter()
            .filter(|c| !old.contains(c))
            .map(|c| c.len())
            .sum();
        assert!(
            changed <= 8 << 20,
            "{changed} bytes of new chunks for a 4 KiB edit"
        );
    }

    #[test]
    fn small_content_is_one_chunk_and_empty_is_none() {
        assert_eq!(chunks(b"hello").len(), 1);
        assert!(chunks(b"").is_empty());
    }
}
