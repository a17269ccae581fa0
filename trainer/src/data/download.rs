//! Downloading MNIST and Fashion-MNIST into a local cache folder, each file checked against its
//! published SHA-256 before it takes its place in the cache.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, anyhow, bail, ensure};
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

use super::{FILE_NAMES, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS};
use crate::atomic::write_atomic_with;

/// A dataset the trainer knows how to download.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum KnownDataset {
    /// Handwritten digits, 60,000 training and 10,000 test images.
    Mnist,
    /// Zalando's clothing images, in MNIST's format and sizes.
    FashionMnist,
}

impl KnownDataset {
    /// The dataset's name, which is also its folder name in the cache.
    pub fn name(self) -> &'static str {
        match self {
            KnownDataset::Mnist => "mnist",
            KnownDataset::FashionMnist => "fashion-mnist",
        }
    }

    /// Folders holding the four canonical files, tried in this order.
    pub fn base_urls(self) -> &'static [&'static str] {
        match self {
            // Yann LeCun's original site no longer serves the files reliably; these are the mirrors
            // TensorFlow and PyTorch use.
            KnownDataset::Mnist => &[
                "https://storage.googleapis.com/cvdf-datasets/mnist/",
                "https://ossci-datasets.s3.amazonaws.com/mnist/",
            ],
            KnownDataset::FashionMnist => {
                &["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
            }
        }
    }

    /// The four canonical files with the SHA-256 of the gzip file as distributed (the values of
    /// tensorflow-datasets' checksum lists). Repackaged copies, such as Debian's, can differ in the
    /// gzip header alone and then do not match.
    pub fn files(self) -> [(&'static str, &'static str); 4] {
        match self {
            KnownDataset::Mnist => [
                (
                    TRAIN_IMAGES,
                    "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                ),
                (
                    TRAIN_LABELS,
                    "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                ),
                (
                    TEST_IMAGES,
                    "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                ),
                (
                    TEST_LABELS,
                    "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                ),
            ],
            KnownDataset::FashionMnist => [
                (
                    TRAIN_IMAGES,
                    "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                ),
                (
                    TRAIN_LABELS,
                    "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                ),
                (
                    TEST_IMAGES,
                    "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                ),
                (
                    TEST_LABELS,
                    "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
                ),
            ],
        }
    }

    /// The SHA-256 of one of the four canonical files, or `None` for any other name.
    pub fn sha256(self, file: &str) -> Option<&'static str> {
        self.files()
            .into_iter()
            .find(|&(name, _)| name == file)
            .map(|(_, sha256)| sha256)
    }
}

/// Makes sure the cache holds the four verified files of `dataset` and returns their folder:
/// `<cache_root>/<name>`, where `cache_root` defaults to the system's cache folder + "bottleneck".
/// Files already there with the right checksum are not downloaded again.
pub fn fetch(dataset: KnownDataset, cache_root: Option<&Path>) -> anyhow::Result<PathBuf> {
    let root = match cache_root {
        Some(root) => root.to_path_buf(),
        None => dirs::cache_dir()
            .with_context(|| {
                format!(
                    "cannot tell where this system keeps cached files, so there is nowhere to download {} to; \
                     pass --data DIR with a folder holding the four canonical files instead",
                    dataset.name()
                )
            })?
            .join("bottleneck"),
    };
    let dir = root.join(dataset.name());
    fetch_from(&dataset.files(), dataset.base_urls(), &dir)?;
    Ok(dir)
}

/// Makes sure `dir` holds each of `files` (name, SHA-256), downloading the missing or damaged ones
/// from the first of `base_urls` that serves them intact. [`fetch`] calls it with the known
/// mirrors and checksums; tests point it at a local server.
pub fn fetch_from(files: &[(&str, &str)], base_urls: &[&str], dir: &Path) -> anyhow::Result<()> {
    let agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(30)))
        // A stalled connection then fails instead of hanging forever, while a slow one carries on.
        .timeout_per_read(Some(Duration::from_secs(60)))
        .build()
        .new_agent();
    for &(name, sha256) in files {
        let path = dir.join(name);
        match sha256_of_file(&path) {
            Ok(actual) if actual == sha256 => continue,
            Ok(_) => eprintln!(
                "{} does not match its checksum; downloading it again",
                path.display()
            ),
            Err(_) => {} // Missing or unreadable: downloading replaces it either way.
        }
        download_from_mirrors(&agent, name, sha256, base_urls, &path)?;
    }
    Ok(())
}

fn download_from_mirrors(
    agent: &ureq::Agent,
    name: &str,
    sha256: &str,
    base_urls: &[&str],
    path: &Path,
) -> anyhow::Result<()> {
    let mut failures = Vec::new();
    for base in base_urls {
        let url = format!("{}/{name}", base.trim_end_matches('/'));
        match download(agent, &url, name, sha256, path) {
            Ok(()) => return Ok(()),
            Err(error) => failures.push(format!("{url}: {error:#}")),
        }
    }
    bail!(
        "could not download {name}:\n  {}\nCheck the internet connection and try again, or pass --data DIR \
         with a folder holding the four canonical files ({})",
        failures.join("\n  "),
        FILE_NAMES.join(", ")
    )
}

/// Streams `url` into `path` with a progress bar, hashing on the way, and keeps the file only if
/// its SHA-256 is `sha256`.
fn download(
    agent: &ureq::Agent,
    url: &str,
    name: &str,
    sha256: &str,
    path: &Path,
) -> anyhow::Result<()> {
    let mut response = agent
        .get(url)
        // Asks for the bytes as stored: a body compressed on the fly would be unpacked by ureq
        // into bytes the checksum does not describe.
        .header("Accept-Encoding", "identity")
        .call()
        .map_err(|error| match error {
            ureq::Error::StatusCode(code) => anyhow!("the server answered HTTP {code}"),
            other => anyhow!(other),
        })?;
    let progress = progress_bar(name, response.body().content_length());
    let mut body = progress.wrap_read(response.body_mut().as_reader());
    let result = write_atomic_with(path, |file| {
        let actual = copy_hashing(&mut body, file)?;
        ensure!(
            actual == sha256,
            "the file received has SHA-256 {actual} but {name} should have {sha256}, so it was not kept; \
             the mirror may be damaged or something on the way may alter downloads"
        );
        Ok(())
    });
    match result {
        Ok(()) => progress.finish(),
        Err(_) => progress.abandon(),
    }
    result
}

/// Copies `reader` into `file` and returns the SHA-256 of what went through, in hex.
fn copy_hashing(reader: &mut impl Read, file: &mut File) -> anyhow::Result<String> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 1 << 16];
    loop {
        let len = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(len) => len,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => {
                return Err(error).context("the connection broke off during the download");
            }
        };
        hasher.update(&buffer[..len]);
        file.write_all(&buffer[..len])
            .context("could not save the download: check free disk space and that the cache folder is writable")?;
    }
    Ok(format!("{:x}", hasher.finalize()))
}

fn sha256_of_file(path: &Path) -> io::Result<String> {
    let mut hasher = Sha256::new();
    io::copy(&mut File::open(path)?, &mut hasher)?;
    Ok(format!("{:x}", hasher.finalize()))
}

fn progress_bar(name: &str, total: Option<u64>) -> ProgressBar {
    let (progress, template) = match total {
        Some(total) => (
            ProgressBar::new(total),
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}, {eta} left",
        ),
        None => (
            ProgressBar::no_length(),
            "{msg} {spinner} {bytes} {bytes_per_sec}",
        ),
    };
    progress
        .set_style(ProgressStyle::with_template(template).expect("the templates above are valid"));
    progress.set_message(format!("downloading {name}"));
    progress
}
