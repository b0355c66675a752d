//! The container log in Podman's k8s-file format: one record per line,
//! `TIMESTAMP STREAM TAG CONTENT`, where TAG is `F` for a full line (its
//! newline dropped) and `P` for a partial one (a chunk without newline).
//!
//! The splitting is pure (bytes in, records out) so it is tested without
//! a container; the monitor feeds it what it reads from the pipes.

/// The longest partial record: a line longer than this is cut into `P`
/// records of this size, so a container printing without newlines cannot
/// make the monitor buffer without bound.
pub const MAX_PARTIAL: usize = 16 * 1024;

/// Which of the container's outputs a record comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// The container's stdout (and, with `-t`, the terminal).
    Stdout,
    /// The container's stderr.
    Stderr,
}

impl Stream {
    fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// The bytes of one stream not yet written as a record: the start of a
/// line whose newline has not come yet.
#[derive(Debug)]
pub struct Pending {
    stream: Stream,
    buf: Vec<u8>,
}

impl Pending {
    /// An empty buffer for `stream`.
    pub fn new(stream: Stream) -> Pending {
        Pending {
            stream,
            buf: Vec::new(),
        }
    }

    /// Appends `data` and writes into `out` a record for every complete
    /// line, and a partial record whenever `MAX_PARTIAL` bytes are pending.
    pub fn feed(&mut self, data: &[u8], timestamp: &str, out: &mut Vec<u8>) {
        self.buf.extend_from_slice(data);
        let mut start = 0;
        while let Some(nl) = self.buf[start..].iter().position(|b| *b == b'\n') {
            let end = start + nl;
            // A line longer than the limit goes out as partial chunks first.
            while end - start > MAX_PARTIAL {
                let chunk = &self.buf[start..start + MAX_PARTIAL];
                write_record(out, timestamp, self.stream, 'P', chunk);
                start += MAX_PARTIAL;
            }
            write_record(out, timestamp, self.stream, 'F', &self.buf[start..end]);
            start = end + 1;
        }
        while self.buf.len() - start >= MAX_PARTIAL {
            let chunk = &self.buf[start..start + MAX_PARTIAL];
            write_record(out, timestamp, self.stream, 'P', chunk);
            start += MAX_PARTIAL;
        }
        self.buf.drain(..start);
    }

    /// At end of stream: writes what is left as a partial record.
    pub fn flush(&mut self, timestamp: &str, out: &mut Vec<u8>) {
        if !self.buf.is_empty() {
            write_record(out, timestamp, self.stream, 'P', &self.buf);
            self.buf.clear();
        }
    }
}

fn write_record(out: &mut Vec<u8>, timestamp: &str, stream: Stream, tag: char, content: &[u8]) {
    out.extend_from_slice(timestamp.as_bytes());
    out.push(b' ');
    out.extend_from_slice(stream.as_str().as_bytes());
    out.push(b' ');
    out.push(tag as u8);
    out.push(b' ');
    out.extend_from_slice(content);
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    const TS: &str = "2026-11-27T19:00:00.123456789Z";

    fn feed_all(chunks: &[&[u8]], stream: Stream) -> String {
        let mut p = Pending::new(stream);
        let mut out = Vec::new();
        for c in chunks {
            p.feed(c, TS, &mut out);
        }
        p.flush(TS, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn full_lines_are_tagged_f_without_their_newline() {
        assert_eq!(
            feed_all(&[b"ready\nsecond line\n"], Stream::Stdout),
            format!("{TS} stdout F ready\n{TS} stdout F second line\n")
        );
    }

    #[test]
    fn lines_split_across_reads_are_joined() {
        assert_eq!(
            feed_all(&[b"rea", b"dy\n", b"\n"], Stream::Stderr),
            format!("{TS} stderr F ready\n{TS} stderr F \n")
        );
    }

    #[test]
    fn a_trailing_chunk_without_newline_is_partial_at_eof() {
        assert_eq!(
            feed_all(&[b"a\nno newline"], Stream::Stdout),
            format!("{TS} stdout F a\n{TS} stdout P no newline\n")
        );
    }

    #[test]
    fn long_output_is_cut_into_partial_records() {
        let long = vec![b'x'; MAX_PARTIAL * 2 + 5];
        let mut data = long.clone();
        data.push(b'\n');
        let text = feed_all(&[&data], Stream::Stdout);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with(&format!("{TS} stdout P xxx")));
        assert_eq!(lines[0].len(), TS.len() + 10 + MAX_PARTIAL);
        assert_eq!(lines[2], format!("{TS} stdout F xxxxx"));

        // Without a newline, a full chunk goes out as soon as it is complete.
        let mut p = Pending::new(Stream::Stdout);
        let mut out = Vec::new();
        p.feed(&long[..MAX_PARTIAL + 1], TS, &mut out);
        assert_eq!(out.len(), TS.len() + 11 + MAX_PARTIAL);
    }
}
