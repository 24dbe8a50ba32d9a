//! A private CA and a server certificate for a Gateway's hosts (air-gapped
//! sites), generated once with rcgen and kept in Secrets.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
};

use crate::error::Result;

/// PEM material of a generated CA and server certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsMaterial {
    /// CA certificate (PEM).
    pub ca_cert: String,
    /// CA private key (PEM).
    pub ca_key: String,
    /// Server certificate for the hosts (PEM).
    pub cert: String,
    /// Server private key (PEM).
    pub key: String,
}

/// Generates a CA named `ca_name` and a certificate for `hosts` signed by it.
pub fn generate(ca_name: &str, hosts: &[String]) -> Result<TlsMaterial> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, ca_name);
    ca_params.distinguished_name = dn;
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let ca_key_pem = ca_key.serialize_pem();
    let issuer = Issuer::new(ca_params, ca_key);
    let mut params = CertificateParams::new(hosts.to_vec())?;
    let mut dn = DistinguishedName::new();
    dn.push(
        DnType::CommonName,
        hosts.first().cloned().unwrap_or_default(),
    );
    params.distinguished_name = dn;
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;
    Ok(TlsMaterial {
        ca_cert: ca_cert.pem(),
        ca_key: ca_key_pem,
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn generates_pem_material() {
        let m = super::generate("Test CA", &["meet.example.com".into()]).expect("generates");
        assert!(m.ca_cert.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(m.key.contains("PRIVATE KEY"));
        assert_ne!(m.ca_cert, m.cert);
    }
}
