//! The test NATS server itself (`common::nats`): it starts with JetStream, goes away on
//! `stop`, and comes back on `restart` on the same port with its streams. Spoken to in the
//! bare NATS protocol, so no NATS client code is involved.

mod common;

use common::DEADLINE;
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::TcpStream;

/// A connection to the server, past the `INFO {…}` line it sends first.
struct Conn {
    info: String,
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

fn connect(port: u16) -> std::io::Result<Conn> {
    let writer = TcpStream::connect(("127.0.0.1", port))?;
    writer.set_read_timeout(Some(DEADLINE))?;
    let mut reader = BufReader::new(writer.try_clone()?);
    let mut info = String::new();
    reader.read_line(&mut info)?;
    Ok(Conn {
        info,
        reader,
        writer,
    })
}

impl Conn {
    /// A JetStream API request (`$JS.API.…`): the reply's JSON.
    fn request(&mut self, subject: &str, body: &str) -> String {
        write!(
            self.writer,
            "CONNECT {{\"verbose\":false}}\r\nSUB reply 1\r\nPUB {subject} reply {}\r\n{body}\r\n",
            body.len()
        )
        .unwrap();
        // Skip PING and the like until the reply's MSG line; its payload is the next line.
        let mut line = String::new();
        while !line.starts_with("MSG ") {
            line.clear();
            assert!(self.reader.read_line(&mut line).unwrap() > 0, "closed");
        }
        line.clear();
        self.reader.read_line(&mut line).unwrap();
        line
    }
}

#[test]
fn the_server_stops_and_restarts_with_its_streams() {
    let Some(mut nats) = common::nats::start() else {
        return;
    };
    assert_eq!(nats.url, format!("nats://127.0.0.1:{}", nats.port));
    let mut conn = connect(nats.port).expect("the server accepts connections");
    assert!(conn.info.starts_with("INFO {"), "{}", conn.info);
    assert!(conn.info.contains("\"jetstream\":true"), "{}", conn.info);
    let created = conn.request(
        "$JS.API.STREAM.CREATE.probe",
        r#"{"name":"probe","subjects":["probe.>"]}"#,
    );
    assert!(
        created.contains("stream_create_response") && !created.contains("\"error\""),
        "{created}"
    );
    let stored = conn.request("probe.one", "hello");
    assert!(stored.contains("\"seq\":1"), "{stored}");
    drop(conn);

    nats.stop();
    let refused = connect(nats.port).err().expect("no server while stopped");
    assert_eq!(refused.kind(), ErrorKind::ConnectionRefused, "{refused}");

    nats.restart();
    let mut conn = connect(nats.port).expect("the server accepts connections again");
    assert!(conn.info.starts_with("INFO {"), "{}", conn.info);
    assert!(conn.info.contains("\"jetstream\":true"), "{}", conn.info);
    let info = conn.request("$JS.API.STREAM.INFO.probe", "");
    assert!(
        info.contains("\"messages\":1"),
        "the stream and its message survive: {info}"
    );

    let dir = nats.dir.clone();
    drop(nats);
    assert!(!dir.exists(), "dropping the server removes its dir");
}
