#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| plug_test_support::checks::client_reply(data));
