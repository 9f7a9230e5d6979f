#![no_main]

#[path = "../../zmtp/tests/fuzz/checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::decoder(data));
