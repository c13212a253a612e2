// Package train trains and reloads gotransfer's transfer-learning models,
// the way Keras's model.fit and load_model do.
//
// The pieces, in the order a program uses them:
//
//   - Spec describes a network (a VGG base and a classifier head) and how
//     images are fed to it; Build makes the nn.Model it describes.
//   - Source delivers batches: DirectorySource over a dataset.Directory
//     (images decoded and augmented on the fly) or TensorSource over tensors
//     already in memory (for example cached base features).
//   - Fit trains a model for a range of epochs with an optimizer from the
//     optim package, reports Keras's progress and epoch lines, calls
//     callbacks (EarlyStopping, ReduceLROnPlateau, ModelCheckpoint,
//     CSVLogger, LRScheduler, CallbackFunc) and keeps a Checkpoint from which
//     an interrupted run resumes exactly, bit for bit.
//   - Save writes a trained model as model.json + model.h5 (Keras's legacy
//     weights layout); Load rebuilds it from that folder, and LoadImages and
//     Predict classify image files the way training saw them.
//
// Every random stream used during training (shuffling, augmentation, dropout
// masks) is derived from (seed, epoch, step), so a resumed run draws exactly
// what an uninterrupted one would have drawn.
package train
