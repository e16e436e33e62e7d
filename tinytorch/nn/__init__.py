"""Neural-network building blocks (book Modules 02-04, 09, 11-13): the ``Layer`` base
class, layers, activations, losses, spatial layers, embeddings, attention and transformers.
Each builds graph through the frontend's Tensor ops; none computes anything itself."""
