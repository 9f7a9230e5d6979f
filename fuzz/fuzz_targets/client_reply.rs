#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| plug_fuzz::client_reply(data));
