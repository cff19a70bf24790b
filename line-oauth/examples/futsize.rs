//! x
fn main() {
    let client = line_oauth::Client::builder()
        .base_url("http://127.0.0.1:1")
        .build()
        .unwrap();
    let token = line_oauth::AccessToken::new("x");
    println!(
        "facade verify future: {}",
        std::mem::size_of_val(&client.verify(&token))
    );
}
