//! The few RLP encodings the extension writes (Yellow Paper appendix B), matching
//! `baychain.codec.rlp.encode` byte for byte: byte strings, lists of already-encoded items, and
//! unsigned integers as their minimal big-endian bytes (0 is the empty string).

const SHORT_STRING: u8 = 0x80;
const LONG_STRING: u8 = 0xB7;
const SHORT_LIST: u8 = 0xC0;
const LONG_LIST: u8 = 0xF7;

/// Append the header of a payload of `length` bytes (`short` below 56 bytes, else `long`).
fn push_header(out: &mut Vec<u8>, length: usize, short: u8, long: u8) {
    if length < 56 {
        out.push(short + length as u8);
        return;
    }
    let size = length.to_be_bytes();
    let skip = size.iter().take_while(|&&b| b == 0).count();
    out.push(long + (size.len() - skip) as u8);
    out.extend_from_slice(&size[skip..]);
}

/// Append the encoding of the byte string `data`.
pub fn push_bytes(out: &mut Vec<u8>, data: &[u8]) {
    if data.len() == 1 && data[0] < SHORT_STRING {
        out.push(data[0]);
        return;
    }
    push_header(out, data.len(), SHORT_STRING, LONG_STRING);
    out.extend_from_slice(data);
}

/// Append the encoding of an unsigned integer (minimal big-endian bytes).
pub fn push_uint(out: &mut Vec<u8>, value: u64) {
    let raw = value.to_be_bytes();
    let skip = raw.iter().take_while(|&&b| b == 0).count();
    push_bytes(out, &raw[skip..]);
}

/// Append the encoding of the list whose items' concatenated encodings are `payload`.
pub fn push_list(out: &mut Vec<u8>, payload: &[u8]) {
    push_header(out, payload.len(), SHORT_LIST, LONG_LIST);
    out.extend_from_slice(payload);
}
