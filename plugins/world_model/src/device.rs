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
    /// wgpu reports as device type `Cpu`) counts as no GPU: it is ~50x slower than flex.
    #[default]
    Auto,
    /// The pure-Rust CPU backend (SIMD, multi-threaded).
    Flex,
    /// wgpu on the default adapter, even a software one.
    Wgpu,
}

impl FromStr for DeviceChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "flex" | "cpu" => Ok(Self::Flex),
            "wgpu" | "gpu" => Ok(Self::Wgpu),
            other => Err(format!(
                "unknown device '{other}': expected auto, flex or wgpu"
            )),
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
    pub fn resolve(self) -> Result<ResolvedDevice, String> {
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
                    Err(e) => Err(format!("cannot start wgpu: {e}")),
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
        let err = "tpu".parse::<DeviceChoice>().unwrap_err();
        assert!(err.contains("auto, flex or wgpu"), "{err}");
    }
}
