//! The `fake-line` binary as a script drives it: help and version, a port
//! of its choosing printed as the one line of standard output, kids given
//! on the command line, and channels and keys registered while it runs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

/// A public RSA-2048 JWK (a public key: nothing secret).
const PUBLIC_JWK: &str = r#"{"kty":"RSA","alg":"RS256","use":"sig","n":"zxToH4hLfu7SKKc2jB3myAWoeJag4L-Oy3mkQz8akW7dut9HDFeQncPCLGnXCcegsdYwvZiF8654SgZGiK_uKHa_NTpjU0-JpCJsAbJewnW_LZwEgLrwM6pduklfCpAxSbaU7Paoj_EDHSkEfXyMREs4Jjjb-PMOAWv0CQEbjbPc_WjQKFgYON9ob1EGM6X7ip87M4IGN0d4gvlWoKaoEbeSBgmpTfWFoPN0ua2WfCyE2tXvbWHQLCEnJgW3yHywq4tT3pNX_5jk4OixnbuBAOWqpjqxHSzm5sEulIZN72mfW1sAoFBhAcTT0BzECzFgItdiZ0F5QrtzQe_kpfL1lw","e":"AQAB"}"#;

fn fake_line() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fake-line"))
}

/// A running `fake-line`, killed when dropped.
struct Running {
    child: Child,
    url: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(args: &[&str]) -> Running {
    let mut child = fake_line()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url:?}");
    Running { child, url }
}

/// One HTTP/1.1 request: the status and the body.
fn request(url: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let address = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nhost: {address}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    (status, body)
}

#[test]
fn help_and_version_exit_zero_and_a_bad_argument_is_a_usage_error() {
    let help = fake_line().arg("--help").output().unwrap();
    assert!(help.status.success());
    let text = String::from_utf8(help.stdout).unwrap();
    assert!(text.contains("Usage: fake-line"), "{text}");
    assert!(text.contains("--kid"), "{text}");
    let version = fake_line().arg("-V").output().unwrap();
    assert!(version.status.success());
    let bad = fake_line().arg("--no-such-option").output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let dangling = fake_line().args(["--kid", "k"]).output().unwrap();
    assert_eq!(dangling.status.code(), Some(2), "a --kid with no --key");
}

#[test]
fn it_picks_a_port_prints_its_url_and_registers_keys_under_given_kids() {
    let dir = std::env::temp_dir().join(format!("fake-line-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let jwk = dir.join("public.jwk.json");
    std::fs::write(&jwk, PUBLIC_JWK).unwrap();
    let key = format!("42:{}", jwk.display());
    let fake = start(&["--channel", "42:secret", "--key", &key, "--kid", "my-kid"]);

    // The kid given is the key's: a second key under it is refused.
    let taken = request(
        &fake.url,
        "POST",
        "/fake/channels/42/keys?kid=my-kid",
        PUBLIC_JWK,
    );
    assert_eq!(taken.0, 400, "{taken:?}");
    assert!(taken.1.contains("taken"), "{taken:?}");
    // Keys and channels registered while it runs.
    let named = request(
        &fake.url,
        "POST",
        "/fake/channels/42/keys?kid=second",
        PUBLIC_JWK,
    );
    assert_eq!(named, (200, r#"{"kid":"second"}"#.to_owned()));
    let random = request(&fake.url, "POST", "/fake/channels/42/keys", PUBLIC_JWK);
    assert_eq!(random.0, 200, "{random:?}");
    assert!(random.1.starts_with(r#"{"kid":""#), "{random:?}");
    assert_eq!(
        request(&fake.url, "PUT", "/fake/channels/7", "seven").0,
        204
    );
    // The new channel issues tokens with its secret.
    let form = "grant_type=client_credentials&client_id=7&client_secret=seven";
    let issued = {
        let address = fake.url.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).unwrap();
        write!(
            stream,
            "POST /v2/oauth/accessToken HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{form}",
            form.len()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    };
    assert!(issued.starts_with("HTTP/1.1 200"), "{issued}");
    assert!(issued.contains("access_token"), "{issued}");
    let _ = std::fs::remove_dir_all(&dir);
}
