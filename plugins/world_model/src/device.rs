//! Choosing the compute device at run time: the flex CPU backend or wgpu on a real GPU.

use std::fmt;
use std::str::FromStr;

use burn::prelude::*;
use burn::tensor::wgpu::wgpu;

/// Which backend runs the model, as users name it on the command line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// wgpu when it finds a hardware GPU, otherwise flex. A software adapter (lavapipe, which
    /// wgpu reports as device type `Cpu`) counts as no GPU: it is far slower than flex (see
    /// `docs/performance.md`).
    #[default]
    Auto,
    /// The pure-Rust CPU backend (SIMD, multi-threaded).
    Flex,
    /// wgpu on the default adapter, even a software one.
    Wgpu,
}

/// Why a device name was not understood or a device could not start.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    /// The name is none of `auto`, `flex` (`cpu`) and `wgpu` (`gpu`).
    #[error("unknown device '{0}': expected auto, flex or wgpu")]
    UnknownName(String),
    /// wgpu was asked for and could not start.
    #[error("cannot start wgpu: {reason}")]
    WgpuUnavailable {
        /// wgpu's message.
        reason: String,
    },
}

impl FromStr for DeviceChoice {
    type Err = DeviceError;
    fn from_str(s: &str) -> Result<Self, DeviceError> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "flex" | "cpu" => Ok(Self::Flex),
            "wgpu" | "gpu" => Ok(Self::Wgpu),
            other => Err(DeviceError::UnknownName(other.to_string())),
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Flex => "flex",
            Self::Wgpu => "wgpu",
        })
    }
}

/// A resolved device with a human-readable description of what was picked and why.
#[derive(Clone, Debug)]
pub struct ResolvedDevice {
    /// The device tensors are created on (without autodiff).
    pub device: Device,
    /// For logs and the UI, e.g. `wgpu: NVIDIA H100 (DiscreteGpu)` or `flex (CPU)`.
    pub description: String,
}

impl DeviceChoice {
    /// Opens the device. `Auto` tries wgpu and falls back to flex when the adapter is a
    /// software one or wgpu cannot start; `Wgpu` reports that failure instead.
    pub fn resolve(self) -> Result<ResolvedDevice, DeviceError> {
        let flex = || ResolvedDevice {
            device: Device::flex(),
            description: "flex (CPU)".into(),
        };
        match self {
            Self::Flex => Ok(flex()),
            Self::Auto | Self::Wgpu => {
                match Device::wgpu_options()
                    .init_with_setup()
                    .map_err(|e| e.to_string())
                {
                    Ok((device, setup)) => {
                        let info = setup.adapter.get_info();
                        let description = format!("wgpu: {} ({:?})", info.name, info.device_type);
                        if self == Self::Auto && info.device_type == wgpu::DeviceType::Cpu {
                            let mut d = flex();
                            d.description = format!(
                                "flex (CPU; the only wgpu adapter is software: {description})"
                            );
                            return Ok(d);
                        }
                        Ok(ResolvedDevice {
                            device,
                            description,
                        })
                    }
                    Err(e) if self == Self::Auto => {
                        let mut d = flex();
                        d.description = format!("flex (CPU; wgpu unavailable: {e})");
                        Ok(d)
                    }
                    Err(reason) => Err(DeviceError::WgpuUnavailable { reason }),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_rejects_unknown() {
        assert_eq!("FLEX".parse::<DeviceChoice>(), Ok(DeviceChoice::Flex));
        assert_eq!("auto".parse::<DeviceChoice>(), Ok(DeviceChoice::Auto));
        let err = "tpu".parse::<DeviceChoice>().unwrap_err().to_string();
        assert!(err.contains("auto, flex or wgpu"), "{err}");
    }
}
