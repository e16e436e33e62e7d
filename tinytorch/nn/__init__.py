"""Neural-network building blocks (book Modules 02-04, 09): the ``Layer`` base class,
layers, activations, losses and spatial layers. Each builds graph through the frontend's
Tensor ops; none computes anything itself."""
