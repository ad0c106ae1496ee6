//! The tasks every system runs. Each one says what its stdout must contain,
//! so a system that fails or answers wrongly stops the run instead of
//! posting a fast, meaningless number.

/// What a workload runs.
#[derive(Debug, Clone, Copy)]
pub enum Program {
    /// Python source, run as `python -c CODE`; every system can run it.
    Python(&'static str),
    /// The trivial Rust guest module, uploaded once; only sandrun runs it.
    TrivialWasm,
    /// Turns of a session, which keeps Python's state from run to run;
    /// sandrun runs them (`sessions.rs`), and a Jupyter kernel the first.
    Session(SessionOp),
}

/// What each measured task of a session workload does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionOp {
    /// One run in the client's own session, which just ran.
    Increment,
    /// The same run in a session that sat idle meanwhile.
    Resume,
    /// Forking a session that imported pandas, and running once in the fork.
    ForkAndRun,
    /// The fork request alone.
    Fork,
}

#[derive(Debug, Clone, Copy)]
pub struct Workload {
    pub name: &'static str,
    pub program: Program,
    /// A piece of the stdout a correct run prints (a session workload
    /// checks each run's value itself, and leaves this empty).
    pub expect: &'static str,
}

pub const PRINT: &str = "print(1)";
pub const PANDAS: &str = "pandas";
pub const LOOP: &str = "loop 1M";
pub const WASM: &str = "trivial wasm";
pub const SESSION_INCREMENT: &str = "session x += 1";
pub const SESSION_RESUME: &str = "session resume";
pub const SESSION_FORK_RUN: &str = "session fork (pandas)";
pub const SESSION_FORK: &str = "session fork request (pandas)";

pub const WORKLOADS: [Workload; 8] = [
    Workload {
        name: PRINT,
        program: Program::Python("print(1)"),
        expect: "1",
    },
    Workload {
        name: PANDAS,
        program: Program::Python(
            "import pandas as pd\n\
             df = pd.DataFrame({'k': [i % 10 for i in range(1000)], 'v': range(1000)})\n\
             print(int(df.groupby('k')['v'].sum().max()))",
        ),
        expect: "50400",
    },
    Workload {
        name: LOOP,
        program: Program::Python("s = 0\nfor i in range(1_000_000):\n    s += i\nprint(s)"),
        expect: "499999500000",
    },
    Workload {
        name: WASM,
        program: Program::TrivialWasm,
        expect: "hello from wasm",
    },
    session(SESSION_INCREMENT, SessionOp::Increment),
    session(SESSION_RESUME, SessionOp::Resume),
    session(SESSION_FORK_RUN, SessionOp::ForkAndRun),
    session(SESSION_FORK, SessionOp::Fork),
];

const fn session(name: &'static str, op: SessionOp) -> Workload {
    Workload {
        name,
        program: Program::Session(op),
        expect: "",
    }
}
