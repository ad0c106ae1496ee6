//! matplotlib as a user first tries it: a chart drawn and saved, with its
//! data (fonts, matplotlibrc) read from where the runtime's install put it,
//! and nothing in the data writable by the guest.

use sandrun_api::Outcome;

use crate::support::{python, stderr, stdout};

#[test]
fn a_chart_with_a_title_saves_as_a_png() {
    let r = python(
        "import matplotlib.pyplot as plt\n\
         plt.plot([1, 2, 3]); plt.title('t'); plt.savefig('/tmp/p.png')\n\
         import matplotlib\n\
         print(matplotlib.get_backend())\n\
         print(open('/tmp/p.png', 'rb').read(8))",
    );
    assert_eq!(r.outcome, Outcome::Succeeded, "{}", stderr(&r));
    assert_eq!(stdout(&r), "Agg\nb'\\x89PNG\\r\\n\\x1a\\n'\n");
}

#[test]
fn matplotlibs_data_is_read_only() {
    let r = python(
        "import matplotlib, os\n\
         rc = os.path.join(matplotlib.get_data_path(), 'matplotlibrc')\n\
         print(os.path.isfile(rc))\n\
         try:\n    open(rc, 'a')\nexcept OSError as e:\n    print(type(e).__name__)",
    );
    assert_eq!(r.outcome, Outcome::Succeeded, "{}", stderr(&r));
    let out = stdout(&r);
    assert!(out.starts_with("True\n"), "{out}");
    assert!(!out.contains("None"), "{out}");
    assert_eq!(out.lines().count(), 2, "the write is refused: {out}");
}
