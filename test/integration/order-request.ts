/**
 * The body of `POST /orders` the tests place: 2 x 19.99 EUR to Köln, with an orderId.
 *
 * @example
 * ```ts
 * await api(httpEvent('POST', '/orders', orderRequest('ok-1')), context);
 * ```
 */
export function orderRequest(orderId: string, unitPrice = 1999) {
  return {
    orderId,
    customerId: 'cust-42',
    currency: 'EUR',
    items: [{ productId: 'sku-1', quantity: 2, unitPrice }],
    shippingAddress: {
      street: 'Hauptstraße 1',
      city: 'Köln',
      postalCode: '50667',
      country: 'DE',
    },
  };
}
