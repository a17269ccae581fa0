// Shared by the e2e tests that compare an input with its rebuild.

/** Pearson's correlation of the equally long arrays `a` and `b`. */
export function correlation(a, b) {
  const mean = (values) => values.reduce((sum, v) => sum + v, 0) / values.length;
  const [meanA, meanB] = [mean(a), mean(b)];
  let [covariance, varianceA, varianceB] = [0, 0, 0];
  a.forEach((v, i) => {
    covariance += (v - meanA) * (b[i] - meanB);
    varianceA += (v - meanA) ** 2;
    varianceB += (b[i] - meanB) ** 2;
  });
  return covariance / Math.sqrt(varianceA * varianceB);
}
