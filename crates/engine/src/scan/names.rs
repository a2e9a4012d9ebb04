//! Names the scanner treats specially: our temp files, and the key under which two
//! names collide on case-insensitive / normalising filesystems.

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;

use super::TEMP_MARKER;

/// Hex digits of the random part of a temp name (a `u64`, zero-padded).
const RANDOM_HEX: usize = 16;
/// Longest name most filesystems (ext4, APFS, NTFS in UTF-16 units) accept.
const MAX_NAME: usize = 255;

/// The `-<hex>` tail plus the marker: what every temp name ends with.
const SUFFIX_LEN: usize = TEMP_MARKER.len() + 1 + RANDOM_HEX;

/// True for names written by [`temp_name`]: `.` + name + `.syncdesk-tmp-` + 16 lowercase hex.
///
/// Matching the whole shape (not just "contains the marker") keeps a user's
/// `notes.syncdesk-tmp-old.txt` from silently dropping out of sync.
pub fn is_temp_name(name: &[u8]) -> bool {
    if name.len() < 1 + SUFFIX_LEN || name[0] != b'.' {
        return false;
    }
    let (head, hex) = name.split_at(name.len() - RANDOM_HEX);
    // `head` is at least `.` + marker + `-` long thanks to the length check above.
    head.ends_with(b"-")
        && head[..head.len() - 1].ends_with(TEMP_MARKER.as_bytes())
        && hex.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `.<final_name>.syncdesk-tmp-<16 hex>`, with `final_name` shortened so the result
/// stays within 255 bytes (cut at a character boundary when the name is UTF-8).
pub fn temp_name(final_name: &[u8], random: u64) -> Vec<u8> {
    let room = MAX_NAME - 1 - SUFFIX_LEN;
    let mut keep = final_name.len().min(room);
    if keep < final_name.len()
        && let Ok(text) = std::str::from_utf8(final_name)
    {
        // Cutting inside a multi-byte character would leave invalid UTF-8 on disk.
        while !text.is_char_boundary(keep) {
            keep -= 1;
        }
    }
    let mut out = Vec::with_capacity(1 + keep + SUFFIX_LEN);
    out.push(b'.');
    out.extend_from_slice(&final_name[..keep]);
    out.extend_from_slice(TEMP_MARKER.as_bytes());
    out.extend_from_slice(format!("-{random:016x}").as_bytes());
    out
}

/// The key two names in one directory collide under: NFC, then lowercase.
///
/// Invalid UTF-8 cannot be normalised; its ASCII letters are still folded so
/// `CAF\xe9` and `caf\xe9` are flagged like their valid counterparts would be.
pub fn clash_key(name: &[u8]) -> Cow<'_, [u8]> {
    if name.is_ascii() {
        // Fast path for the vast majority of names: no allocation when already lowercase.
        if name.iter().any(u8::is_ascii_uppercase) {
            return Cow::Owned(name.to_ascii_lowercase());
        }
        return Cow::Borrowed(name);
    }
    match std::str::from_utf8(name) {
        // NFC before and after lowercasing: lowercasing a composed character can
        // yield a decomposed sequence (e.g. U+0130), which must compare equal too.
        Ok(text) => {
            let lowered = text.nfc().collect::<String>().to_lowercase();
            Cow::Owned(lowered.nfc().collect::<String>().into_bytes())
        }
        Err(_) => Cow::Owned(name.to_ascii_lowercase()),
    }
}
