//! `hutch login` and `hutch logout`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use clap::Args;

use super::registry::RegistryArgs;
use crate::container::Engine;
use crate::error::Error;
use crate::image::{self, credentials::Credentials, LogoutTarget};

#[derive(Debug, Args)]
#[command(mut_arg("authfile", |a| {
    a.help("Credentials file to write instead of ${XDG_RUNTIME_DIR}/containers/auth.json")
}))]
pub struct LoginArgs {
    /// Registry to log in to (host[:port]; default: the first search registry of registries.conf)
    #[arg(value_name = "REGISTRY")]
    pub registry: Option<String>,
    /// User name (asked for on a terminal when missing)
    #[arg(short, long)]
    pub username: Option<String>,
    /// Password (visible to other users in the process list: prefer --password-stdin)
    #[arg(short, long, conflicts_with = "password_stdin")]
    pub password: Option<String>,
    /// Read the password from standard input
    #[arg(long)]
    pub password_stdin: bool,
    /// Print the user name stored for the registry and exit
    #[arg(long, conflicts_with_all = ["username", "password", "password_stdin"])]
    pub get_login: bool,
    /// Also print which credentials file was written
    #[arg(short, long)]
    pub verbose: bool,
    #[command(flatten)]
    pub access: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Registry to log out of (host[:port]; default: the first search registry of registries.conf)
    #[arg(value_name = "REGISTRY", conflicts_with = "all")]
    pub registry: Option<String>,
    /// Remove the credentials of every registry
    #[arg(short, long)]
    pub all: bool,
    /// Credentials file to change instead of ${XDG_RUNTIME_DIR}/containers/auth.json
    #[arg(long, value_name = "PATH", env = "REGISTRY_AUTH_FILE")]
    pub authfile: Option<PathBuf>,
}

/// Checks the credentials with the registry and saves them.
pub fn login(engine: &Engine, args: LoginArgs) -> Result<i32, Error> {
    let paths = engine.paths();
    let registry = match &args.registry {
        Some(r) => r.clone(),
        None => image::default_registry(paths)?,
    };
    if args.get_login {
        let authfile = args.access.authfile.as_ref();
        return match image::stored_login(paths, &registry, authfile)? {
            Some(user) => {
                println!("{user}");
                Ok(0)
            }
            None => Err(image::Error::NotLoggedIn(image::registry_key(&registry)).into()),
        };
    }
    let credentials = read_credentials(&args)?;
    let opts = args.access.login_options(credentials);
    let written = image::login(paths, &registry, &opts)?;
    if args.verbose {
        // Podman's two spaces: Go's Println between "Used: " and the path.
        println!("Used:  {}", written.display());
    }
    println!("Login Succeeded!");
    Ok(0)
}

/// The user name and password from the flags, standard input or prompts.
fn read_credentials(args: &LoginArgs) -> Result<Credentials, Error> {
    let stdin = std::io::stdin();
    let is_tty = stdin.is_terminal();
    let username = match &args.username {
        Some(u) => u.clone(),
        None if args.password_stdin => {
            return Err(Error::Usage(
                "--password-stdin needs --username".to_string(),
            ))
        }
        None if is_tty => prompt("Username: ", true)?,
        None => {
            return Err(Error::Usage(
                "no user name: pass --username (standard input is not a terminal)".to_string(),
            ))
        }
    };
    let password = match &args.password {
        Some(p) => p.clone(),
        None if args.password_stdin => {
            let mut line = String::new();
            stdin.lock().read_line(&mut line).map_err(|source| {
                super::ioerr::IoError::ReadStdin {
                    what: "the password",
                    source,
                }
            })?;
            line.trim_end_matches(['\n', '\r']).to_string()
        }
        None if is_tty => prompt("Password: ", false)?,
        None => {
            return Err(Error::Usage(
                "no password: pass --password-stdin (standard input is not a terminal)".to_string(),
            ))
        }
    };
    if username.is_empty() || password.is_empty() {
        return Err(Error::Usage(
            "the user name and password must not be empty".to_string(),
        ));
    }
    Ok(Credentials { username, password })
}

/// Asks on the terminal; the answer is not echoed unless `is_echoed`.
pub(super) fn prompt(question: &str, is_echoed: bool) -> Result<String, Error> {
    use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg};
    let stdin = std::io::stdin();
    // Echo goes off before the prompt shows, so nothing typed after the
    // prompt can appear.
    let saved = if is_echoed {
        None
    } else {
        tcgetattr(&stdin).ok()
    };
    if let Some(t) = &saved {
        let mut quiet = t.clone();
        quiet.local_flags.remove(LocalFlags::ECHO);
        let _ = tcsetattr(&stdin, SetArg::TCSANOW, &quiet);
    }
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if let Some(t) = &saved {
        let _ = tcsetattr(&stdin, SetArg::TCSANOW, t);
        eprintln!();
    }
    read.map_err(|source| super::ioerr::IoError::ReadStdin {
        what: "the answer",
        source,
    })?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

/// Removes stored credentials.
pub fn logout(engine: &Engine, args: LogoutArgs) -> Result<i32, Error> {
    let paths = engine.paths();
    let target = match (&args.registry, args.all) {
        (_, true) => LogoutTarget::All,
        (Some(r), false) => LogoutTarget::One(r.clone()),
        (None, false) => LogoutTarget::One(image::default_registry(paths)?),
    };
    image::logout(paths, &target, args.authfile.as_ref())?;
    match target {
        LogoutTarget::One(r) => {
            println!("Removed login credentials for {}", image::registry_key(&r))
        }
        LogoutTarget::All => println!("Removed login credentials for all registries"),
    }
    Ok(0)
}
