//! Fails loudly when the simulation suite is built without `--cfg madsim` (an inherited
//! `RUSTFLAGS` silently replaces a `build.rustflags` alias). `scripts/test` looks for this
//! test's name in the output.

#[test]
#[cfg_attr(not(madsim), ignore = "only meaningful in the simulation suite")]
#[allow(clippy::assertions_on_constants)] // the constant is the point
fn madsim_cfg_is_active() {
    assert!(
        cfg!(madsim),
        "docent-sim-tests must be built with RUSTFLAGS=\"--cfg madsim\" (see scripts/test)"
    );
}
