//! An ONNX graph wired straight into tract's typed graph, node by node, for a fixed batch size.
//!
//! tract-onnx would first build an inference graph and solve its shape rules, then translate it
//! to a typed graph and bind the batch size. Every shape here is known from the declared input
//! and the batch size, so that work, and the code it runs (which a cold page would have to
//! compile first), is skipped.

use std::collections::{HashMap, HashSet};

use tract_onnx::data_resolver::MmapDataResolver;
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::tensor_shape_proto::dimension;
use tract_onnx::pb::type_proto::Value;
use tract_onnx::pb::{ModelProto, NodeProto, TensorProto, ValueInfoProto};
use tract_onnx::tensor::load_tensor;
use tract_onnx::tract_hir::internal::*;

use crate::ops::{Node, OPERATORS};

/// The typed graph of `model` with every input's batch dimension bound to `batch`. Errors name
/// the node or value at fault; operators the page does not run must have been refused before.
pub fn typed_model(model: &ModelProto, batch: usize) -> TractResult<TypedModel> {
    let graph = model.graph.as_ref().context("the file holds no graph")?;
    let opset = model
        .opset_import
        .iter()
        .find(|set| set.domain.is_empty() || set.domain == "ai.onnx")
        .map_or(0, |set| set.version);
    let weights: HashMap<&str, &TensorProto> = graph
        .initializer
        .iter()
        .map(|weight| (weight.name.as_str(), weight))
        .collect();
    let mut typed = TypedModel::default();
    let mut values: HashMap<&str, OutletId> = HashMap::new();
    // Older files also list their weights among the graph's inputs.
    for input in graph
        .input
        .iter()
        .filter(|input| !weights.contains_key(input.name.as_str()))
    {
        let source = typed.add_source(&input.name, input_fact(input, batch)?)?;
        values.insert(&input.name, source);
    }
    let mut names = HashSet::new();
    for (index, proto) in graph.node.iter().enumerate() {
        let inputs = proto
            .input
            .iter()
            .map(|name| match name.as_str() {
                "" => Ok(None),
                name => value(&mut typed, &mut values, &weights, name, proto).map(Some),
            })
            .collect::<TractResult<_>>()?;
        let name = match proto.name.as_str() {
            "" => format!("{}#{index}", proto.op_type),
            name if names.contains(name) => format!("{name}#{index}"),
            name => name.to_string(),
        };
        names.insert(name.clone());
        let node = Node {
            proto,
            name,
            inputs,
            opset,
        };
        let (_, wire) = OPERATORS
            .iter()
            .find(|(op, _)| *op == proto.op_type)
            .with_context(|| format!("the page does not run {}", proto.op_type))?;
        let outputs = wire(&node, &mut typed)?;
        ensure!(
            proto.output.len() <= outputs.len(),
            "{} {}: the page computes {} of its {} outputs",
            proto.op_type,
            proto.name,
            outputs.len(),
            proto.output.len()
        );
        for (name, outlet) in proto.output.iter().zip(outputs) {
            values.insert(name, outlet);
        }
    }
    let outputs = graph
        .output
        .iter()
        .map(|output| {
            values.get(output.name.as_str()).copied().with_context(|| {
                format!("nothing in the model computes its output {}", output.name)
            })
        })
        .collect::<TractResult<Vec<_>>>()?;
    typed.select_output_outlets(&outputs)?;
    Ok(typed)
}

/// The outlet of the value `name`, which `node` reads: computed by an earlier node, or a weight,
/// added to the graph the first time a node reads it.
fn value<'g>(
    typed: &mut TypedModel,
    values: &mut HashMap<&'g str, OutletId>,
    weights: &HashMap<&'g str, &'g TensorProto>,
    name: &'g str,
    node: &NodeProto,
) -> TractResult<OutletId> {
    if let Some(&outlet) = values.get(name) {
        return Ok(outlet);
    }
    let weight = weights.get(name).with_context(|| {
        format!(
            "{} {} reads {name}, which no earlier node computes",
            node.op_type, node.name
        )
    })?;
    let tensor = load_weight(weight).with_context(|| format!("the weight {name}"))?;
    let outlet = typed.add_const(name, tensor)?;
    values.insert(name, outlet);
    Ok(outlet)
}

/// A weight as a tensor. tract's loader does not read 4-bit integers, so INT4 and UINT4 weights
/// are unpacked here, to one i8 or u8 per value: ONNX packs them two to a byte, the first in the
/// low nibble, in `raw_data` or one byte per entry of `int32_data`.
fn load_weight(weight: &TensorProto) -> TractResult<Tensor> {
    let signed = match DataType::try_from(weight.data_type) {
        Ok(DataType::Int4) => true,
        Ok(DataType::Uint4) => false,
        _ => return load_tensor(&MmapDataResolver, weight, None),
    };
    let dims = weight
        .dims
        .iter()
        .map(|&size| {
            usize::try_from(size).with_context(|| format!("it has a negative size, {size}"))
        })
        .collect::<TractResult<Vec<usize>>>()?;
    let count = dims
        .iter()
        .try_fold(1usize, |count, &size| count.checked_mul(size))
        .context("it declares more values than memory can hold")?;
    let from_int32;
    let packed: &[u8] = if !weight.raw_data.is_empty() || weight.int32_data.is_empty() {
        &weight.raw_data
    } else {
        from_int32 = weight
            .int32_data
            .iter()
            .map(|&byte| {
                u8::try_from(byte).map_err(|_| {
                    format_err!("its int32_data holds {byte}, not a byte of two 4-bit values")
                })
            })
            .collect::<TractResult<Vec<u8>>>()?;
        &from_int32
    };
    ensure!(
        packed.len() == count.div_ceil(2),
        "its {count} 4-bit values, packed two to a byte, take {} bytes, but the file holds {}: \
         the file is damaged, or its weights are stored outside it",
        count.div_ceil(2),
        packed.len()
    );
    // Unpacked straight into the tensor, a byte at a time in a loop the compiler vectorizes: the
    // dense model's 0.9 M values are unpacked while the page waits for its first result.
    if signed {
        let mut tensor = Tensor::zero::<i8>(&dims)?;
        // Each nibble shifted into the high half of a byte: an arithmetic shift extends its sign.
        unpack_nibbles(
            packed,
            tensor.try_as_plain_ram_mut()?.as_slice_mut::<i8>()?,
            |high| (high as i8) >> 4,
        );
        Ok(tensor)
    } else {
        let mut tensor = Tensor::zero::<u8>(&dims)?;
        unpack_nibbles(
            packed,
            tensor.try_as_plain_ram_mut()?.as_slice_mut::<u8>()?,
            |high| high >> 4,
        );
        Ok(tensor)
    }
}

/// Writes the two 4-bit values of each byte of `packed`, low nibble first, into `values` (whose
/// length may be odd: the last byte's high nibble is then padding), each given to `value` as the
/// high half of a byte.
fn unpack_nibbles<T>(packed: &[u8], values: &mut [T], value: impl Fn(u8) -> T) {
    let mut pairs = values.chunks_exact_mut(2);
    for (pair, &byte) in (&mut pairs).zip(packed) {
        pair[0] = value(byte << 4);
        pair[1] = value(byte & 0xf0);
    }
    if let ([last], Some(&byte)) = (pairs.into_remainder(), packed.last()) {
        *last = value(byte << 4);
    }
}

/// A graph input as tract's typed fact: f32, its declared shape with a named first (batch)
/// dimension bound to `batch`, every other dimension a fixed size.
fn input_fact(input: &ValueInfoProto, batch: usize) -> TractResult<TypedFact> {
    let Some(Value::TensorType(tensor)) = input.r#type.as_ref().and_then(|t| t.value.as_ref())
    else {
        bail!("the input {} is not declared as a tensor", input.name);
    };
    ensure!(
        tensor.elem_type == DataType::Float as i32,
        "the input {} must hold f32 values",
        input.name
    );
    let dims = tensor
        .shape
        .as_ref()
        .with_context(|| format!("the input {} declares no shape", input.name))?;
    let shape = dims
        .dim
        .iter()
        .enumerate()
        .map(|(axis, dim)| match (axis, &dim.value) {
            (_, Some(dimension::Value::DimValue(size))) => usize::try_from(*size)
                .with_context(|| format!("the input {} has a negative size", input.name)),
            (0, _) => Ok(batch),
            _ => bail!(
                "the input {} has no fixed size on axis {axis}, which the page needs",
                input.name
            ),
        })
        .collect::<TractResult<TVec<usize>>>()?;
    Ok(f32::fact(shape))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 4-bit weight of `dims`, its packed bytes in `raw_data`.
    fn four_bit(data_type: DataType, dims: &[i64], raw_data: &[u8]) -> TensorProto {
        TensorProto {
            name: "w".into(),
            dims: dims.to_vec(),
            data_type: data_type as i32,
            raw_data: raw_data.to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn int4_weights_unpack_low_nibble_first_with_their_sign() {
        // 1, −2 | 7, −8 | −1 and the padding nibble of an odd count.
        let weight = four_bit(DataType::Int4, &[5], &[0xe1, 0x87, 0x0f]);
        let tensor = load_weight(&weight).unwrap();
        assert_eq!(tensor.shape(), [5]);
        assert_eq!(
            tensor.try_as_plain_ram().unwrap().as_slice::<i8>().unwrap(),
            [1, -2, 7, -8, -1]
        );
        let weight = four_bit(DataType::Uint4, &[2, 2], &[0xe1, 0x87]);
        let tensor = load_weight(&weight).unwrap();
        assert_eq!(tensor.shape(), [2, 2]);
        assert_eq!(
            tensor.try_as_plain_ram().unwrap().as_slice::<u8>().unwrap(),
            [1, 14, 7, 8]
        );
        // The same bytes, one per int32 entry.
        let weight = TensorProto {
            raw_data: Vec::new(),
            int32_data: vec![0xe1, 0x87, 0x0f],
            ..four_bit(DataType::Int4, &[5], &[])
        };
        let tensor = load_weight(&weight).unwrap();
        assert_eq!(
            tensor.try_as_plain_ram().unwrap().as_slice::<i8>().unwrap(),
            [1, -2, 7, -8, -1]
        );
    }

    #[test]
    fn malformed_int4_weights_are_errors() {
        let message = |weight: TensorProto| load_weight(&weight).unwrap_err().to_string();
        // 5 values take 3 bytes: 2 or 4 is damage.
        let error = message(four_bit(DataType::Int4, &[5], &[0, 0]));
        assert!(
            error.contains("take 3 bytes, but the file holds 2"),
            "{error}"
        );
        let error = message(four_bit(DataType::Int4, &[5], &[0, 0, 0, 0]));
        assert!(
            error.contains("take 3 bytes, but the file holds 4"),
            "{error}"
        );
        let error = message(four_bit(DataType::Int4, &[4], &[]));
        assert!(
            error.contains("take 2 bytes, but the file holds 0"),
            "{error}"
        );
        let error = message(four_bit(DataType::Int4, &[-4], &[0, 0]));
        assert!(error.contains("negative size"), "{error}");
        let error = message(four_bit(DataType::Int4, &[i64::MAX, i64::MAX], &[0]));
        assert!(error.contains("more values than memory"), "{error}");
        let error = message(TensorProto {
            raw_data: Vec::new(),
            int32_data: vec![0x1ff],
            ..four_bit(DataType::Int4, &[2], &[])
        });
        assert!(error.contains("not a byte"), "{error}");
    }
}
