/*
** The JSON configuration of one tissue simulation (`medtwin tissue run`;
** docs/tissue.md, "The tissue command"; docs/tissue-config.schema.json).
*/
#ifndef MEDTWIN_TISSUE_SPEC_H
#define MEDTWIN_TISSUE_SPEC_H

#include <stddef.h>

#include "medtwin/induce.h"
#include "medtwin/model.h"
#include "medtwin/tissue.h"

/* Largest grid accepted: 2^24 nodes (16.8 million: a 4096^2 sheet or a 256^3
** block). With the engine's arrays (every state, the operator's
** coefficients, the activation records) that is a few GiB at most for the
** shipped cell models. */
#define MT_TISSUE_MAX_NODES (1L << 24)
#define MT_TISSUE_MAX_STIM 64
#define MT_TISSUE_MAX_SET 32   /* parameters set by name */
#define MT_TISSUE_MAX_SITES 64
#define MT_TISSUE_MAX_LESIONS 64

/* Parameters of the cell model set by name: index and value. */
typedef struct mt_tissue_params {
  int n;
  int idx[MT_TISSUE_MAX_SET];
  double val[MT_TISSUE_MAX_SET];
} mt_tissue_params;

/*
** A fibrosis substrate from an image (2D): a node whose grey (0 black .. 1
** white, mt_image_to_grid) is >= threshold is fibrotic: non-conducting
** (out of the mask) or remodelled (its conductivity times d_scale and the
** cell parameters param; region 1 of the engine), and with remodelled a
** node at or above scar_threshold is non-conducting (dense scar).
*/
typedef struct mt_tissue_substrate {
  char image[1024];    /* path, relative to the configuration's folder */
  double pixel_mm, threshold;
  int remodelled;      /* 0: non-conducting */
  double scar_threshold; /* remodelled: grey >= this is non-conducting
                         ** (dense scar beside the grey zone; > 1: none) */
  double d_scale;
  mt_tissue_params param;
} mt_tissue_substrate;

typedef struct mt_tissue_spec {
  const mt_model *m;   /* the cell model */
  mt_tissue_config c;  /* grid, D, dt, diffusion, threshold, threads; mask,
                       ** fibre and param NULL */
  double duration_ms;
  int has_angle;       /* fibre_angle_deg given (2D) */
  double angle_deg;
  int nstim;           /* 1 .. MT_TISSUE_MAX_STIM */
  mt_tissue_stim stim[MT_TISSUE_MAX_STIM];
  int vti, svg, cv_x;  /* outputs */
  int png;             /* activation.png (and apd.png) */
  double snapshot_ms;  /* V frames every snapshot_ms (0: none) */
  mt_tissue_params param;   /* the cell's parameters changed by name */
  int has_substrate;
  mt_tissue_substrate sub;
  int has_protocol;    /* "inducibility": tissue induce / ablate */
  mt_protocol proto;
  int nsite;           /* sites given, or 0 with auto_sites */
  mt_pace_site site[MT_TISSUE_MAX_SITES];
  int auto_sites;      /* "sites": {"count": N}: N spread over the tissue
                       ** (mt_pace_sites_spread) */
  double auto_radius_mm;
  int has_lesion_mask; /* "lesion_mask": an image whose pixels at or above
                       ** threshold are lesions (non-conducting) */
  char lesion_image[1024];
  double lesion_pixel_mm, lesion_threshold;
  int nlesion;         /* lesions applied before anything runs */
  mt_lesion lesion[MT_TISSUE_MAX_LESIONS];
  double ablate_width_mm; /* "ablation": lesion width (2 mm) */
  int ablate_rounds;      /* tests at most (5) */
} mt_tissue_spec;

/* Whether the tissue engine can run cell model m: state 0 V, input 0
** I_stim, no on_input, no state events. */
int mt_tissue_model_ok(const mt_model *m);

/*
** Parse len bytes of JSON (name: the file, for messages). Returns 0 or
** MT_EINVAL with one line in err: "NAME: FIELD: what was expected" (or
** "NAME: line N: ..." for malformed JSON). Checks types, ranges and the
** node cap; the explicit stability bound and stimulus coverage are left to
** mt_tissue_create and mt_tissue_add_stim.
*/
int mt_tissue_spec_parse(const char *text, size_t len, const char *name,
                         mt_tissue_spec *s, char *err, size_t errlen);

#endif
