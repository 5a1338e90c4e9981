//! How values become NATS payloads: the [`Codec`] trait and the default [`Json`].

use bytes::{BufMut, Bytes, BytesMut};

/// Turns values into message payloads and back.
///
/// Every bridge takes a codec; [`Json`] is the default, so that Go programs on the same subject
/// read and write the same values with `encoding/json`. A codec is shared by the bridge
/// goroutine and the handles (hence `Send + Sync + 'static`), and is cloned into each bridge.
///
/// # Examples
///
/// A codec for raw bytes, for payloads that are already encoded:
///
/// ```
/// use gocsp_nats::Codec;
///
/// #[derive(Clone, Copy, Debug, Default)]
/// struct Raw;
///
/// impl Codec<Vec<u8>> for Raw {
///     type Error = std::convert::Infallible;
///     fn encode(&self, value: &Vec<u8>) -> Result<bytes::Bytes, Self::Error> {
///         Ok(bytes::Bytes::copy_from_slice(value))
///     }
///     fn decode(&self, payload: &[u8]) -> Result<Vec<u8>, Self::Error> {
///         Ok(payload.to_vec())
///     }
/// }
///
/// assert_eq!(Raw.decode(&Raw.encode(&vec![1, 2]).unwrap()).unwrap(), [1, 2]);
/// ```
///
/// # Go equivalent
///
/// The `Encoder` interface of the deprecated `nats.EncodedConn` (`nats.JSON_ENCODER` is
/// [`Json`]).
pub trait Codec<T>: Clone + Send + Sync + 'static {
    /// Why a value could not be encoded or a payload decoded.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The payload that carries `value`.
    ///
    /// # Errors
    ///
    /// When the value cannot be represented (the bridge reports it through `tracing`).
    fn encode(&self, value: &T) -> Result<Bytes, Self::Error>;

    /// Appends the payload that carries `value` to `buf`, which the caller then splits off.
    /// The core send bridge encodes through this, into one buffer for many values, so a codec
    /// that can write in place (as [`Json`] does) allocates nothing per value. The default
    /// copies [`encode`](Self::encode)'s payload.
    ///
    /// # Errors
    ///
    /// As [`encode`](Self::encode); `buf` may then hold part of a payload (the caller
    /// discards it).
    ///
    /// ```
    /// use gocsp_nats::{Codec, Json};
    ///
    /// let mut buf = bytes::BytesMut::new();
    /// Json.encode_into(&[1, 2], &mut buf).unwrap();
    /// assert_eq!(&buf.split().freeze()[..], b"[1,2]");
    /// ```
    fn encode_into(&self, value: &T, buf: &mut BytesMut) -> Result<(), Self::Error> {
        buf.extend_from_slice(&self.encode(value)?);
        Ok(())
    }

    /// The value a payload carries.
    ///
    /// # Errors
    ///
    /// When the payload is not a valid encoding of a `T`: the receive bridges report it
    /// through `tracing` and dead-letter or terminate the message, never drop it silently.
    fn decode(&self, payload: &[u8]) -> Result<T, Self::Error>;
}

/// JSON through serde: what Go's `encoding/json` (and `nats.JSON_ENCODER`) reads and writes.
///
/// ```
/// use gocsp_nats::{Codec, Json};
///
/// #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
/// struct Transfer { from: u32, to: u32, cents: i64 }
///
/// let t = Transfer { from: 1, to: 2, cents: 500 };
/// let payload = Json.encode(&t).unwrap();
/// assert_eq!(&payload[..], br#"{"from":1,"to":2,"cents":500}"#);
/// assert_eq!(Json.decode(&payload).ok(), Some(t));
/// assert!(Codec::<Transfer>::decode(&Json, b"not json").is_err());
/// ```
///
/// # Go equivalent
///
/// `json.Marshal` / `json.Unmarshal`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Json;

impl<T> Codec<T> for Json
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    type Error = serde_json::Error;

    fn encode(&self, value: &T) -> Result<Bytes, serde_json::Error> {
        serde_json::to_vec(value).map(Bytes::from)
    }

    fn encode_into(&self, value: &T, buf: &mut BytesMut) -> Result<(), serde_json::Error> {
        serde_json::to_writer(buf.writer(), value)
    }

    fn decode(&self, payload: &[u8]) -> Result<T, serde_json::Error> {
        serde_json::from_slice(payload)
    }
}
