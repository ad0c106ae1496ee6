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
}

#[derive(Debug, Clone, Copy)]
pub struct Workload {
    pub name: &'static str,
    pub program: Program,
    /// A piece of the stdout a correct run prints.
    pub expect: &'static str,
}

pub const PRINT: &str = "print(1)";
pub const PANDAS: &str = "pandas";
pub const LOOP: &str = "loop 1M";
pub const WASM: &str = "trivial wasm";

pub const WORKLOADS: [Workload; 4] = [
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
];
